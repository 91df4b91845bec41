using System.Collections.Concurrent;
using System.Text.Json;

using Broadcast.Control.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// Events that happen where no row of ours changes with them (a broadcast starting, dropping, resuming, ending; a publish
/// refused; a recording or clip finished; a scheduled event starting or ending; a health warning): told here by whoever
/// sees them, queued without waiting (a publisher's thread never waits on the database), and written to the outbox in the
/// order told by one background reader. The queue is bounded (<see cref="QueueCapacity"/>); past it an event is dropped
/// and logged. Events that name a channel by slug are written with its id; a slug of no channel (a rung's hub, a deleted
/// channel) writes nothing. <c>publish.refused</c> is written at most once a minute per channel and reason, so an encoder
/// retrying every second does not fill the outbox.
/// </summary>
public sealed partial class BroadcastWebhooks(IChannelRepository channels, WebhookOutbox outbox, TimeProvider time, ILogger<BroadcastWebhooks> logger)
    : BackgroundService
{
    public const int QueueCapacity = 4096;

    private static readonly TimeSpan RefusalRepeat = TimeSpan.FromMinutes(1);
    private const int MaxRefusalsRemembered = 10_000;

    private readonly System.Threading.Channels.Channel<Happening> _queue = System.Threading.Channels.Channel.CreateBounded<Happening>(new System.Threading.Channels.BoundedChannelOptions(QueueCapacity)
    {
        FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    private readonly ConcurrentDictionary<string, DateTimeOffset> _refusalsSent = new(StringComparer.Ordinal);

    /// <summary>
    /// The broadcasts that started on this node and are not told ended yet, by channel slug (one per channel, so as many as
    /// the channels): a recording booked before its broadcast's end was told waits for it, at most <see cref="EndWait"/>.
    /// </summary>
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _notEnded = new(StringComparer.Ordinal);

    /// <summary>How long a <c>recording.ready</c> waits for its broadcast's <c>broadcast.ended</c> to be told first.</summary>
    internal static readonly TimeSpan EndWait = TimeSpan.FromSeconds(5);

    /// <summary>Data writes the event's members beside channel and channel id; it is given the channel id it was resolved to.</summary>
    private sealed record Happening(string Type, string? Slug, string? ChannelId, DateTimeOffset At, Action<Utf8JsonWriter, string> Data);

    /// <summary>A broadcast began on this node (not a resume after a reconnect).</summary>
    public void Started(string slug, DateTimeOffset startedAt, string? protocol)
    {
        _notEnded[slug] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Enqueue(WebhookEventTypes.BroadcastStarted, slug, startedAt, json =>
        {
            WebhookEvent.WriteTime(json, "startedAt", startedAt);
            if (protocol is null) json.WriteNull("protocol");
            else json.WriteString("protocol", protocol);
        });
    }

    /// <summary>The encoder dropped; the broadcast waits for it until <paramref name="deadline"/> (the reconnect grace).</summary>
    public void Reconnecting(string slug, DateTimeOffset startedAt, DateTimeOffset? deadline) =>
        Enqueue(WebhookEventTypes.BroadcastReconnecting, slug, time.GetUtcNow(), json =>
        {
            WebhookEvent.WriteTime(json, "startedAt", startedAt);
            WebhookEvent.WriteTime(json, "reconnectDeadline", deadline);
        });

    /// <summary>The encoder came back within the grace: the same broadcast goes on.</summary>
    public void Resumed(string slug, DateTimeOffset startedAt) =>
        Enqueue(WebhookEventTypes.BroadcastResumed, slug, time.GetUtcNow(), json => WebhookEvent.WriteTime(json, "startedAt", startedAt));

    /// <summary>The broadcast ended (its encoder stopped, or did not come back within the grace, or an admin ended it).</summary>
    public void Ended(string slug, DateTimeOffset startedAt)
    {
        var now = time.GetUtcNow();
        Enqueue(WebhookEventTypes.BroadcastEnded, slug, now, json =>
        {
            WebhookEvent.WriteTime(json, "startedAt", startedAt);
            WebhookEvent.WriteTime(json, "endedAt", now);
            json.WriteNumber("durationSeconds", Math.Max(0, (long)(now - startedAt).TotalSeconds));
        });
        if (_notEnded.TryRemove(slug, out var notEnded)) notEnded.TrySetResult();
    }

    /// <summary>A publish of a known channel was refused (schedule, the platform's callback, another node's lease).</summary>
    public void PublishRefused(Channels.Channel channel, string protocol, string reason)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var now = time.GetUtcNow();
        string key = channel.Id + "|" + reason;
        if (_refusalsSent.TryGetValue(key, out var last) && now - last < RefusalRepeat) return;
        if (_refusalsSent.Count >= MaxRefusalsRemembered) _refusalsSent.Clear();
        _refusalsSent[key] = now;
        Write(new Happening(WebhookEventTypes.PublishRefused, channel.Slug, channel.Id, now, (json, _) =>
        {
            json.WriteString("protocol", protocol);
            json.WriteString("reason", reason);
        }));
    }

    /// <summary>
    /// A recording of the channel was stored (its broadcast ended and was booked): where its playlists are, how long it is.
    /// The packager books it when the stream completes, and the registry tells the end a moment after completing it, so
    /// on a loaded node the booking could be told first: while the channel's broadcast that started here is not told
    /// ended, this waits for that (at most <see cref="EndWait"/>, off the caller's thread), so a receiver hears
    /// <c>broadcast.ended</c> before its <c>recording.ready</c>, in the order they happened.
    /// </summary>
    public void RecordingReady(Recordings.Recording recording, string slug)
    {
        ArgumentNullException.ThrowIfNull(recording);
        if (_notEnded.TryGetValue(slug, out var notEnded) && !notEnded.Task.IsCompleted)
            _ = WriteAfterAsync(notEnded.Task, () => WriteRecordingReady(recording, slug));
        else
            WriteRecordingReady(recording, slug);
    }

    private async Task WriteAfterAsync(Task before, Action write)
    {
        try
        {
            await before.WaitAsync(EndWait, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        write();
    }

    private void WriteRecordingReady(Recordings.Recording recording, string slug)
    {
        Write(new Happening(WebhookEventTypes.RecordingReady, slug, recording.ChannelId, time.GetUtcNow(), (json, _) =>
        {
            json.WriteString("recordingId", recording.Id);
            json.WriteString("broadcastId", recording.BroadcastId);
            if (recording.EventId is null) json.WriteNull("eventId");
            else json.WriteString("eventId", recording.EventId);
            json.WriteNumber("durationMs", recording.DurationMs);
            json.WriteNumber("sizeBytes", recording.SizeBytes);
            json.WriteString("hls", recording.HlsPath);
            // Null for a recording with no MPD (AES-128: HLS only).
            if (recording.DashPath is null) json.WriteNull("dash");
            else json.WriteString("dash", recording.DashPath);
        }));
    }

    /// <summary>
    /// A clip was finished (its ends cut to the frame, its MP4 made where that could be): the range, and the MP4's API path
    /// when it was made (null when not).
    /// </summary>
    public void ClipReady(string slug, string clipId, DateTimeOffset from, DateTimeOffset to, bool downloadMade) =>
        Write(new Happening(WebhookEventTypes.ClipReady, slug, null, time.GetUtcNow(), (json, channelId) =>
        {
            json.WriteString("clipId", clipId);
            WebhookEvent.WriteTime(json, "from", from);
            WebhookEvent.WriteTime(json, "to", to);
            if (downloadMade) json.WriteString("download", $"/api/channels/{channelId}/clips/{clipId}/download");
            else json.WriteNull("download");
        }));

    /// <summary>Any other event of a channel named by its slug: <paramref name="data"/> writes what it adds to channel and channel id.</summary>
    public void Raise(string type, string slug, Action<Utf8JsonWriter> data) => Enqueue(type, slug, time.GetUtcNow(), data);

    private void Enqueue(string type, string slug, DateTimeOffset at, Action<Utf8JsonWriter> data)
        => Write(new Happening(type, slug, null, at, (json, _) => data(json)));

    private void Write(Happening happening)
    {
        if (!_queue.Writer.TryWrite(happening)) LogDropped(happening.Type, happening.Slug ?? "-", QueueCapacity);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var happening in _queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
                await AppendAsync(happening, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task AppendAsync(Happening happening, CancellationToken cancellationToken)
    {
        const int tries = 3;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                string? channelId = happening.ChannelId;
                string? slug = happening.Slug;
                if (channelId is null && slug is not null)
                {
                    if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel) return;
                    channelId = channel.Id;
                }

                await outbox.AppendAsync(WebhookEvent.Create(happening.Type, channelId, happening.At, json =>
                {
                    if (slug is not null) json.WriteString("channel", slug);
                    if (channelId is not null) json.WriteString("channelId", channelId);
                    happening.Data(json, channelId ?? "");
                }), cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (System.Data.Common.DbException e) when (attempt < tries)
            {
                LogAppendRetry(e, happening.Type, attempt);
                await Task.Delay(TimeSpan.FromSeconds(attempt), time, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Data.Common.DbException e)
            {
                LogAppendFailed(e, happening.Type, happening.Slug ?? "-", tries);
                return;
            }
        }
    }

    [LoggerMessage(EventId = 3841, Level = LogLevel.Error,
        Message = "Webhook event {Type} of channel {Channel} dropped: {Capacity} events wait to be written to the outbox already (is the database away?)")]
    private partial void LogDropped(string type, string channel, int capacity);

    [LoggerMessage(EventId = 3842, Level = LogLevel.Warning, Message = "Writing webhook event {Type} to the outbox failed (try {Attempt}); trying again")]
    private partial void LogAppendRetry(Exception exception, string type, int attempt);

    [LoggerMessage(EventId = 3843, Level = LogLevel.Error, Message = "Webhook event {Type} of channel {Channel} lost: the outbox could not be written in {Tries} tries")]
    private partial void LogAppendFailed(Exception exception, string type, string channel, int tries);
}
