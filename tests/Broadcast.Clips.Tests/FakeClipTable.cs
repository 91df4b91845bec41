using System.Collections.Concurrent;
using Broadcast.Control.Clips;

namespace Broadcast.Clips.Tests;

/// <summary>
/// The clips table as the server's clip adapters see it: fixed held ranges for one broadcast (answered after
/// <see cref="Delay"/>), and the exact ranges and download sizes the finisher records; a clip <see cref="Deleted"/>
/// meanwhile is not found.
/// </summary>
internal sealed class FakeClipTable(string heldBroadcast) : IClipRepository
{
    public List<(long First, long Last)> Held { get; } = new();

    /// <summary>How long the table takes to answer the hold.</summary>
    public TimeSpan Delay { get; set; }

    public ConcurrentDictionary<string, (DateTimeOffset From, DateTimeOffset To)> Cut { get; } = new();

    public ConcurrentDictionary<string, long> Downloads { get; } = new();

    public bool Deleted { get; set; }

    /// <summary>The clips a stopped node had not finished, as the table lists them.</summary>
    public List<(string ChannelSlug, Clip Clip)> Unfinished { get; } = new();

    public ConcurrentDictionary<string, DateTimeOffset> Finished { get; } = new();

    public Task<bool> SetFinishedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        Finished[id] = at;
        return Task.FromResult(!Deleted);
    }

    public Task<IReadOnlyList<(string ChannelSlug, Clip Clip)>> ListUnfinishedAsync(DateTimeOffset createdAfter, int limit,
        CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<(string, Clip)>>(Unfinished.Where(u => u.Clip.CreatedAt > createdAfter).Take(limit).ToList());

    public async Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
        CancellationToken cancellationToken = default)
    {
        if (Delay > TimeSpan.Zero) await Task.Delay(Delay, cancellationToken);
        return broadcastId == heldBroadcast ? Held.ToList() : [];
    }

    public Task<bool> SetCutAsync(string id, DateTimeOffset startsAt, DateTimeOffset endsAt, CancellationToken cancellationToken = default)
    {
        if (Deleted) return Task.FromResult(false);
        Cut[id] = (startsAt, endsAt);
        return Task.FromResult(true);
    }

    public Task<bool> SetDownloadAsync(string id, long bytes, CancellationToken cancellationToken = default)
    {
        if (Deleted) return Task.FromResult(false);
        Downloads[id] = bytes;
        return Task.FromResult(true);
    }

    public Task<bool> TryInsertAsync(Clip clip, int maxPerChannel, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<IReadOnlyList<Clip>> ListAsync(string channelId, CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<bool> UpdateTitleAsync(string channelId, string id, string title, DateTimeOffset updatedAt,
        CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default) => throw new NotSupportedException();
}
