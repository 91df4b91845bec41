namespace Broadcast.Transcoder.Thumbnails;

/// <summary>Where a live channel's thumbnail goes (the server stores it as <c>{channel}/thumbnail.jpg</c>).</summary>
public interface IThumbnailSink
{
    /// <param name="maxAge">How long a cache may keep it: until the next one.</param>
    ValueTask PutAsync(string stream, ReadOnlyMemory<byte> jpeg, TimeSpan maxAge, CancellationToken cancellationToken);
}
