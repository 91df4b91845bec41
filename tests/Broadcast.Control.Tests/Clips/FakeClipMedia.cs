using System.Collections.Concurrent;
using Broadcast.Control.Clips;

namespace Broadcast.Control.Tests.Clips;

/// <summary>Stands in for the server's store: answers every cut with a fixed range, or refuses as it is told; records deletes.</summary>
internal sealed class FakeClipMedia : IClipMedia
{
    public static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    public ConcurrentQueue<ClipCutRequest> Written { get; } = new();

    public ConcurrentQueue<(string Slug, string ClipId, bool WithSegments)> Deleted { get; } = new();

    /// <summary>Thrown by the next cuts instead of writing.</summary>
    public ClipRangeException? Refusal { get; set; }

    public string BroadcastId { get; set; } = "20261121T054512Z";

    /// <summary>The MP4 downloads in the store, by clip id.</summary>
    public ConcurrentDictionary<string, byte[]> Downloads { get; } = new();

    public ValueTask<ClipCutResult> WriteAsync(ClipCutRequest request, CancellationToken cancellationToken)
    {
        if (Refusal is { } refusal) throw refusal;
        Written.Enqueue(request);
        return ValueTask.FromResult(new ClipCutResult(BroadcastId, Start.AddSeconds(4), Start.AddSeconds(12), 3, 6));
    }

    public ValueTask DeleteAsync(string channelSlug, Clip clip, bool withSegments, CancellationToken cancellationToken)
    {
        Deleted.Enqueue((channelSlug, clip.Id, withSegments));
        return ValueTask.CompletedTask;
    }

    public ValueTask<ReadOnlyMemory<byte>?> ReadDownloadAsync(string channelSlug, Clip clip, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Downloads.TryGetValue(clip.Id, out var mp4) ? (ReadOnlyMemory<byte>?)mp4 : null);
}
