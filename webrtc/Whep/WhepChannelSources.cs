using Broadcast.Media;
using Broadcast.WebRtc.Relay;
using Broadcast.WebRtc.Rtp;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Whep;

/// <summary>What feeds a channel's WHEP sessions on this node: its RTP source and, on an origin-only node, the relay that fills its hub.</summary>
internal sealed class WhepChannelSource(ChannelRtpSource source, ChannelRelay? relay)
{
    public ChannelRtpSource Source { get; } = source;

    /// <summary>On an origin-only node, what feeds <see cref="Source"/>'s hub from the ingest node that has the channel.</summary>
    public ChannelRelay? Relay { get; } = relay;

    /// <summary>Sessions and warm holds using it now (under the owner's lock).</summary>
    public int Users { get; set; }

    /// <summary>Counts acquisitions: an idle stop scheduled before the latest one does nothing.</summary>
    public int Generation { get; set; }
}

/// <summary>
/// The channel sources of this node's WHEP sessions: one <see cref="ChannelRtpSource"/> per channel (an RTP ffmpeg, its
/// socket and thread) and, on an origin-only node, the <see cref="ChannelRelay"/> that feeds its hub. A source lives while
/// sessions or a warm hold (a live real-time channel, held before its first viewer) use it, and stops
/// <see cref="WhepOptions.IdleStop"/> after the last one left unless another came back meanwhile.
/// </summary>
internal sealed partial class WhepChannelSources(LiveStreamRegistry registry, ChannelRelays? relays, WhepOptions options, ILogger logger,
    TimeProvider time)
    : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, WhepChannelSource> _channels = new(StringComparer.Ordinal);
    // Live real-time channels held warm (WhepPrewarm): each holds its channel as a viewer would, without being one.
    private readonly HashSet<string> _warm = new(StringComparer.Ordinal);

    /// <summary>Holds <paramref name="channel"/> warm; false when it already was (holding twice holds once).</summary>
    public bool HoldWarm(string channel)
    {
        lock (_gate)
        {
            // One step with the hold: a release that comes between could otherwise find no channel to let go.
            if (!_warm.Add(channel)) return false;
            AcquireLocked(channel);
            return true;
        }
    }

    /// <summary>Ends <see cref="HoldWarm"/>: the source stops after <see cref="WhepOptions.IdleStop"/> unless sessions hold it.</summary>
    public void ReleaseWarm(string channel)
    {
        lock (_gate)
        {
            if (!_warm.Remove(channel)) return;
        }

        Release(channel);
    }

    public IReadOnlyList<string> WarmChannels
    {
        get { lock (_gate) return [.. _warm]; }
    }

    public bool IsWarm(string channel)
    {
        lock (_gate) return _warm.Contains(channel);
    }

    public int WarmCount
    {
        get { lock (_gate) return _warm.Count; }
    }

    /// <summary>Channels with a source now.</summary>
    public int Count
    {
        get { lock (_gate) return _channels.Count; }
    }

    /// <summary>Channels whose relay is fed by an ingest node now.</summary>
    public int RelayedCount
    {
        get { lock (_gate) return _channels.Values.Count(c => c.Relay?.FeedingFrom is not null); }
    }

    public bool IsHeld(string channel)
    {
        lock (_gate) return _channels.ContainsKey(channel);
    }

    /// <summary>The channel's source, started on its first user; every call needs its <see cref="Release"/>.</summary>
    public WhepChannelSource Acquire(string channel)
    {
        lock (_gate) return AcquireLocked(channel);
    }

    private WhepChannelSource AcquireLocked(string channel)
    {
        if (!_channels.TryGetValue(channel, out var entry))
        {
            entry = new WhepChannelSource(new ChannelRtpSource(channel, registry, options, logger, time), relays?.Create(channel));
            _channels[channel] = entry;
            entry.Relay?.Start();
            entry.Source.Start();
        }

        entry.Users++;
        entry.Generation++;
        return entry;
    }

    /// <summary>One user fewer; the last one leaving stops the source after <see cref="WhepOptions.IdleStop"/> unless one came back.</summary>
    public void Release(string channel)
    {
        int generation;
        lock (_gate)
        {
            if (!_channels.TryGetValue(channel, out var entry) || --entry.Users > 0) return;
            generation = entry.Generation;
        }

        _ = StopIdleAsync(channel, generation);
    }

    private async Task StopIdleAsync(string channel, int generation)
    {
        await Task.Delay(options.IdleStop, time).ConfigureAwait(false);
        WhepChannelSource? idle;
        lock (_gate)
        {
            if (!_channels.TryGetValue(channel, out idle) || idle.Users > 0 || idle.Generation != generation) return;
            _channels.Remove(channel);
        }

        await StopAsync(idle).ConfigureAwait(false);
        LogChannelIdle(channel);
    }

    private static async Task StopAsync(WhepChannelSource source)
    {
        await source.Source.DisposeAsync().ConfigureAwait(false);
        if (source.Relay is not null) await source.Relay.DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        List<WhepChannelSource> channels;
        lock (_gate)
        {
            channels = [.. _channels.Values];
            _channels.Clear();
            _warm.Clear();
        }

        foreach (var channel in channels) await StopAsync(channel).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 8205, Level = LogLevel.Information, Message = "WHEP {Channel}: no viewers left, its RTP ffmpeg stopped")]
    private partial void LogChannelIdle(string channel);
}
