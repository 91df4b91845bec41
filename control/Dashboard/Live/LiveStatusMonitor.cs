using System.Collections.Concurrent;
using Broadcast.Control.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Dashboard.Live;

/// <summary>What the channel page shows about a channel right now; pushed to its SignalR group every second.</summary>
public sealed record ChannelLiveView(
    string Id,
    bool Online,
    DateTimeOffset? Since,
    long? Viewers,
    long Bitrate,
    double Fps,
    long KeyframeIntervalMs,
    string? Resolution,
    string? Video,
    string? Audio,
    long SegmentsWritten,
    IReadOnlyList<string> Renditions,
    IReadOnlyList<string> EncoderLadder,
    IReadOnlyList<Advice> Advice,
    LiveSample Sample)
{
    /// <summary>What retention keeps of the broadcast and the space it takes ("rewind window 30 min: 412.3 MB"); null when
    /// it is not packaged on this node.</summary>
    public string? Kept { get; init; }

    /// <summary>How playback goes by the players' own reports (CMCD): "12 players reporting · 1 stalled…"; null when none report.</summary>
    public string? Quality { get; init; }
}

/// <summary>A row of the channel list.</summary>
public sealed record ChannelListItem(string Id, bool Online, long? Viewers, long Bitrate);

/// <summary>
/// Polls <see cref="IChannelLiveStatus"/> (which the server implements over the pipeline) once a second for every
/// channel, keeps a ten-minute <see cref="LiveSampleRing"/> per channel, and pushes the result to the dashboard's
/// SignalR groups. Polling, not callbacks from the pipeline, keeps control free of media and packager types, and
/// one poller serves any number of open dashboards.
/// </summary>
public sealed partial class LiveStatusMonitor(
    ChannelService channels,
    IChannelLiveStatus live,
    IHubContext<LiveStatusHub> hub,
    TimeProvider time,
    ILogger<LiveStatusMonitor> logger,
    Webhooks.BroadcastWebhooks? webhooks = null) : BackgroundService
{
    /// <summary>The least time between two <c>stream.health</c> events of one channel (a flapping warning is told once a minute).</summary>
    public static readonly TimeSpan HealthEventSpacing = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // The channel list changes rarely; re-reading it every few ticks bounds the database load.
    private const int ChannelListRefreshTicks = 5;

    private const long SettleMs = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private IReadOnlyList<Channel> _channels = [];

    internal static string ChannelGroup(string id) => "ch:" + id;

    internal const string ListGroup = "list";

    /// <summary>The latest view of a channel and its last ten minutes of samples; polls now if never polled.</summary>
    public async Task<(ChannelLiveView View, LiveSample[] History)> GetAsync(Channel channel, CancellationToken cancellationToken)
    {
        if (!_entries.TryGetValue(channel.Id, out var entry) || entry.View is null)
        {
            entry = await PollAsync(channel, cancellationToken).ConfigureAwait(false);
        }

        var since = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)TimeSpan.FromMinutes(10).TotalMilliseconds;
        return (entry.View!, entry.Ring.Snapshot(since));
    }

    /// <summary>The latest list row of a channel, or an offline row if it was never polled.</summary>
    public ChannelListItem ListItem(Channel channel)
        => _entries.TryGetValue(channel.Id, out var e) && e.View is { } v
            ? new ChannelListItem(channel.Id, v.Online, v.Viewers, v.Bitrate)
            : new ChannelListItem(channel.Id, false, null, 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        var tick = 0;
        do
        {
            try
            {
                if (tick++ % ChannelListRefreshTicks == 0)
                {
                    _channels = await channels.ListAsync(stoppingToken).ConfigureAwait(false);
                    var ids = _channels.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
                    foreach (var gone in _entries.Keys.Where(k => !ids.Contains(k)))
                    {
                        _entries.TryRemove(gone, out _);
                    }
                }

                var rows = new List<ChannelListItem>(_channels.Count);
                foreach (var channel in _channels)
                {
                    var entry = await PollAsync(channel, stoppingToken).ConfigureAwait(false);
                    rows.Add(new ChannelListItem(channel.Id, entry.View!.Online, entry.View.Viewers, entry.View.Bitrate));
                    await hub.Clients.Group(ChannelGroup(channel.Id)).SendAsync("channel", entry.View, stoppingToken).ConfigureAwait(false);
                }

                await hub.Clients.Group(ListGroup).SendAsync("list", rows, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A database hiccup must not stop the dashboard's live updates for good.
                LogPollFailed(e);
            }
        }
        while (await NextTickAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async ValueTask<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>One poll of one channel, as a tick does (for tests).</summary>
    internal async Task PollOnceAsync(Channel channel, CancellationToken cancellationToken) => await PollAsync(channel, cancellationToken).ConfigureAwait(false);

    private async Task<Entry> PollAsync(Channel channel, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(channel.Id, _ => new Entry());
        var state = await live.GetAsync(channel, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var sample = state.Online ? new LiveSample(now, state.Bitrate, state.Fps) : new LiveSample(now, 0, 0);
        if (state.Online || entry.WasOnline)
        {
            // Off-air time is recorded once as a zero, so the chart drops to the floor instead of drawing a line across the gap.
            entry.Ring.Add(sample);
        }

        entry.WasOnline = state.Online;
        // The encoder's first seconds fill the statistics window (fps climbs from 0), which is not instability:
        // judge only samples taken once the publish has run for a while.
        var settledFrom = Math.Max(now - 15_000, (state.Since?.ToUnixTimeMilliseconds() ?? now) + SettleMs);
        var recentFps = entry.Ring.Snapshot(settledFrom).Select(s => s.Fps).ToList();
        entry.View = new ChannelLiveView(
            channel.Id,
            state.Online,
            state.Online ? state.Since : null,
            state.Viewers,
            state.Online ? state.Bitrate : 0,
            state.Online ? state.Fps : 0,
            state.KeyframeIntervalMs,
            state.Video is { Width: > 0 } v ? $"{v.Width}×{v.Height}" : null,
            state.Video is { } video ? Describe(video) : null,
            state.Audio is { } audio ? $"{audio.Codec.ToUpperInvariant()} {audio.SampleRate / 1000.0:0.#} kHz, " +
                $"{(audio.Channels == 1 ? "mono" : audio.Channels == 2 ? "stereo" : audio.Channels + " ch")}" : null,
            state.SegmentsWritten,
            state.Renditions,
            state.EncoderLadder.Select(DescribeRung).ToArray(),
            EncoderAdvice.For(state, recentFps),
            sample) { Kept = DescribeKept(state), Quality = DescribeQuality(state.Quality) };
        TellHealth(channel, entry, state.Online ? entry.View.Advice : [], time.GetUtcNow());
        return entry;
    }

    /// <summary>
    /// <c>stream.health</c> to the platform's webhooks when a live channel's encoder crosses the dashboard's warnings: from
    /// none to some (<c>warning</c>, with them) and back (<c>ok</c>), at most once per <see cref="HealthEventSpacing"/>.
    /// </summary>
    private void TellHealth(Channel channel, Entry entry, IReadOnlyList<Advice> advice, DateTimeOffset now)
    {
        var warnings = advice.Where(a => a.Level == AdviceLevel.Warning).Select(a => a.Text).ToArray();
        bool warned = warnings.Length > 0;
        if (webhooks is null || warned == entry.Warned || now - entry.HealthToldAt < HealthEventSpacing) return;
        entry.Warned = warned;
        entry.HealthToldAt = now;
        webhooks.Raise(Webhooks.WebhookEventTypes.StreamHealth, channel.Slug, json =>
        {
            json.WriteString("status", warned ? "warning" : "ok");
            json.WriteStartArray("warnings");
            foreach (var text in warnings) json.WriteStringValue(text);
            json.WriteEndArray();
        });
    }

    /// <summary>The retention rule a broadcast runs under, as its packaging read it when it started, and what it keeps now.</summary>
    internal static string? DescribeKept(ChannelLiveState state) => state.RewindSeconds is not { } rewind || state.Recording is not { } recorded
        ? null
        : (recorded ? "every segment (recorded)"
            : rewind > 0 ? $"rewind window {Pages.ChannelModel.RewindLabel(rewind)}" : "the live window") + ": " + Format.Bytes(state.KeptBytes);

    /// <summary>
    /// The players' reports as the channel page shows them: "3 players reporting · 1 stalled (2 stalls) · startup 0.9 s ·
    /// buffer 6.2 s · 2.4 Mb/s · 1 rung switch"; a figure no player sent is left out.
    /// </summary>
    public static string? DescribeQuality(PlaybackQuality? q)
    {
        if (q is null || q.Sessions == 0) return null;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var parts = new List<string> { q.Sessions == 1 ? "1 player reporting" : string.Create(inv, $"{q.Sessions} players reporting") };
        parts.Add(q.StalledSessions == 0 ? "no stalls" : string.Create(inv, $"{q.StalledSessions} stalled ({q.Stalls} stall{(q.Stalls == 1 ? "" : "s")})"));
        if (q.MedianStartupMs >= 0) parts.Add(string.Create(inv, $"startup {q.MedianStartupMs / 1000.0:0.0} s"));
        if (q.MedianBufferMs >= 0) parts.Add(string.Create(inv, $"buffer {q.MedianBufferMs / 1000.0:0.0} s"));
        if (q.MeanBitrateKbps >= 0) parts.Add(string.Create(inv, $"{q.MeanBitrateKbps / 1000.0:0.0#} Mb/s"));
        if (q.RungSwitches > 0) parts.Add(string.Create(inv, $"{q.RungSwitches} rung switch{(q.RungSwitches == 1 ? "" : "es")}"));
        return string.Join(" · ", parts);
    }

    /// <summary>One rung of the encoder's own ladder as the channel page lists it: "track 1: 1280×720 H.264 High @ 3.1, 30 fps, 2.5 Mb/s".</summary>
    private static string DescribeRung(EncoderRungStatus rung) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"track {rung.TrackId}: {(rung.Video is { } v ? $"{v.Width}×{v.Height} {Describe(v)}" : "no sequence header yet")}, {rung.Bitrate / 1_000_000.0:0.0#} Mb/s");

    private static string Describe(LiveVideoStatus video)
    {
        var name = video.Codec switch { "h264" => "H.264", "hevc" => "HEVC", "av1" => "AV1", _ => video.Codec };
        var profile = video.Profile is { Length: > 0 } p ? $" {p}" : "";
        var level = video.Level is { Length: > 0 } l ? $" @ {l}" : "";
        var fps = video.FrameRate is { } f ? $", {f:0.##} fps" : "";
        return $"{name}{profile}{level}{fps}";
    }

    private sealed class Entry
    {
        public LiveSampleRing Ring { get; } = new();

        public volatile ChannelLiveView? View;

        public bool WasOnline;

        public bool Warned;

        public DateTimeOffset HealthToldAt = DateTimeOffset.MinValue;
    }

    [LoggerMessage(EventId = 3411, Level = LogLevel.Warning, Message = "Polling channel live status for the dashboard failed; retrying next second")]
    private partial void LogPollFailed(Exception exception);
}
