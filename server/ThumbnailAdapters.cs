using System.Globalization;
using Broadcast.Storage;
using Broadcast.Transcoder.Thumbnails;

namespace Broadcast.Server;

/// <summary>Thumbnails go into the store as <c>{channel}/thumbnail.jpg</c>, cacheable until the next one.</summary>
internal sealed class StoreThumbnailSink(ISegmentStore store) : IThumbnailSink
{
    public async ValueTask PutAsync(string stream, ReadOnlyMemory<byte> jpeg, TimeSpan maxAge, CancellationToken cancellationToken) =>
        await store.PutAsync(StoreKeys.Thumbnail(stream), jpeg, ContentTypes.Jpeg,
            "public, max-age=" + ((int)maxAge.TotalSeconds).ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
}
