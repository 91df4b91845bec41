using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Media;
using Broadcast.Packager;
using Broadcast.Packager.Live;
using Broadcast.Packager.Storage;
using Microsoft.Extensions.Options;

namespace Broadcast.Server;

/// <summary>Records a broadcast when the channel's event in window says so; without an event, <c>Packager:RecordByDefault</c>.</summary>
internal sealed class EventRecordingPolicy(ChannelService channels, EventService events, TimeProvider time, IOptions<PackagerOptions> options)
    : IRecordingPolicy
{
    public async ValueTask<bool> ShouldRecordAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        if (channel is null) return options.Value.RecordByDefault;
        var current = await events.FindCurrentAsync(channel.Id, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        return current?.Record ?? options.Value.RecordByDefault;
    }
}

/// <summary>Ends the channel's live stream: its readers drain, the packager writes the final (ENDLIST) manifests and the recording.</summary>
/// <remarks>
/// Ingest has no call to close a publisher's socket yet; completing the stream ends everything downstream and
/// the authorizer refuses a reconnect outside a window. The encoder's further frames are dropped.
/// </remarks>
internal sealed class PipelineBroadcastTerminator(LiveStreamRegistry registry) : IBroadcastTerminator
{
    public ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken)
    {
        if (registry.Find(channel.Slug) is not { } stream) return ValueTask.FromResult(false);
        registry.EndPublish(stream);
        return ValueTask.FromResult(true);
    }
}

/// <summary>Deletes a recording's manifests, VOD playlists and segments from the store.</summary>
internal sealed class StoreRecordingMedia(ISegmentStore store) : IRecordingMedia
{
    public async ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken)
    {
        var (channel, broadcastId) = RecordingKeys.Parse(recording.HlsPath);
        if (channel is null) return;
        var keys = await RecordingKeys.ListAsync(store, channel, broadcastId!, cancellationToken).ConfigureAwait(false);
        if (keys.Count > 0) await store.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
    }
}

internal static class RecordingKeys
{
    /// <summary>"/live/{channel}/recordings/{broadcastId}/master.m3u8" → (channel, broadcastId).</summary>
    public static (string? Channel, string? BroadcastId) Parse(string hlsPath)
    {
        var parts = hlsPath.Trim('/').Split('/');
        return parts is ["live", var channel, "recordings", var id, _] ? (channel, id) : (null, null);
    }

    /// <summary>Every object of one broadcast's recording: its recordings/ folder and the rendition files named after the broadcast.</summary>
    public static async Task<List<string>> ListAsync(ISegmentStore store, string channel, string broadcastId, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var key in store.ListAsync(channel + "/", cancellationToken).ConfigureAwait(false))
        {
            var name = key[(key.LastIndexOf('/') + 1)..];
            if (key.StartsWith($"{channel}/recordings/{broadcastId}/", StringComparison.Ordinal)
                || name.StartsWith(broadcastId + "-", StringComparison.Ordinal) || name == broadcastId + ".m3u8")
                keys.Add(key);
        }
        return keys;
    }
}

/// <summary>
/// Stores a Recording row when a recorded broadcast finishes: the event it belongs to (the channel's event
/// that went live most recently), the VOD manifest paths, the duration (sum of the first rendition's EXTINF)
/// and the size of every object of the recording.
/// </summary>
internal sealed partial class RecordingListener(
    LivePackager packager,
    ISegmentStore store,
    ChannelService channels,
    EventService events,
    RecordingService recordings,
    TimeProvider time,
    ILogger<RecordingListener> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pending = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished += OnFinished;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished -= OnFinished;
        Task[] pending;
        lock (_pending) pending = [.. _pending];
        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnFinished(StreamPackagerStatus status)
    {
        if (!status.Recording) return;
        var task = Task.Run(() => StoreAsync(status, _stopping.Token));
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    internal async Task StoreAsync(StreamPackagerStatus status, CancellationToken cancellationToken)
    {
        try
        {
            var channel = await channels.GetBySlugAsync(status.Channel, cancellationToken).ConfigureAwait(false);
            if (channel is null) return;
            var masterKey = StoreKeys.RecordingMaster(status.Channel, status.BroadcastId);
            var master = await store.GetAsync(masterKey, cancellationToken).ConfigureAwait(false);
            if (master is null)
            {
                LogNoManifest(status.Channel, status.BroadcastId);
                return;
            }

            var durationMs = await DurationMsAsync(masterKey, master, cancellationToken).ConfigureAwait(false);
            long size = 0;
            foreach (var key in await RecordingKeys.ListAsync(store, status.Channel, status.BroadcastId, cancellationToken).ConfigureAwait(false))
                size += (await store.GetAsync(key, cancellationToken).ConfigureAwait(false))?.Data.Length ?? 0;

            var now = time.GetUtcNow();
            var recent = await events.ListAsync(channel.Id, now - TimeSpan.FromDays(7), now + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            var ev = recent.Where(e => e.LiveAt is not null).MaxBy(e => e.LiveAt);
            await recordings.AddAsync(channel.Id, ev?.Id, status.BroadcastId, "/live/" + masterKey,
                "/live/" + StoreKeys.RecordingMpd(status.Channel, status.BroadcastId), durationMs, size, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, status.Channel, status.BroadcastId);
        }
    }

    /// <summary>Sum of EXTINF of the first media playlist the master names (RFC 8216 §4.3.2.1).</summary>
    private async Task<long> DurationMsAsync(string masterKey, StoredObject master, CancellationToken cancellationToken)
    {
        var text = System.Text.Encoding.UTF8.GetString(master.Data.Span);
        var uri = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        if (uri is null) return 0;
        var baseUri = new Uri("http://store/" + masterKey);
        var mediaKey = new Uri(baseUri, uri).AbsolutePath.TrimStart('/');
        var media = await store.GetAsync(mediaKey, cancellationToken).ConfigureAwait(false);
        if (media is null) return 0;
        double seconds = 0;
        foreach (var line in System.Text.Encoding.UTF8.GetString(media.Data.Span).Split('\n'))
        {
            if (!line.StartsWith("#EXTINF:", StringComparison.Ordinal)) continue;
            var value = line["#EXTINF:".Length..].Split(',')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) seconds += d;
        }
        return (long)Math.Round(seconds * 1000);
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Recorded broadcast {Channel}/{BroadcastId} finished without a recording manifest")]
    private partial void LogNoManifest(string channel, string broadcastId);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Error, Message = "Storing the recording of {Channel}/{BroadcastId} failed")]
    private partial void LogFailed(Exception ex, string channel, string broadcastId);
}
