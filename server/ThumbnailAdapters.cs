using System.Globalization;
using Broadcast.Origin;
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

/// <summary>What this node's origin served is what the thumbnail maker knows of who looks at a picture.</summary>
internal sealed class OriginThumbnailLooks(ThumbnailLooks looks) : IThumbnailLooks
{
    public TimeSpan? SinceLastLook(string stream) => looks.SinceLastLook(stream);
}
