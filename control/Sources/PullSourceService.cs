using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Owner = Broadcast.Control.Sources.PullSourceOwner;

namespace Broadcast.Control.Sources;

/// <summary>
/// Pull sources of channels and events: validation, storage, and the rule that decides what pulls where now
/// (<see cref="AssignmentsAsync"/>): an event's source from its start to its end, else the channel's own source whenever the
/// channel may publish (always, or inside an event window for a channel with RequireSchedule).
/// </summary>
public sealed class PullSourceService(
    IPullSourceRepository repository,
    ChannelService channels,
    EventService events,
    IPullSourceValidator validator,
    IPullSourceRunner runner,
    PullSourceSignal signal,
    PullSourceScheduler scheduler,
    OutboundGuard outbound,
    TimeProvider time)
{
    /// <summary>
    /// Throws <see cref="ValidationFailedException"/> naming <paramref name="field"/> when the URL cannot be a pull source: the pipeline's
    /// rules, then for network URLs the outbound policy on the addresses its host resolves to now (the pipeline checks again at each start).
    /// The messages call the URL <paramref name="noun"/> (default: the field's name).
    /// </summary>
    public async Task ValidateAsync(string? url, string field, CancellationToken cancellationToken = default, string? noun = null)
    {
        noun ??= field;
        if (string.IsNullOrWhiteSpace(url)) throw ValidationFailedException.For(field,
            $"The {noun} is required: rtmp://, rtmps://, srt://, http(s):// (HLS) or file:PATH.");
        url = url.Trim();
        if (!validator.IsValid(url, out var error)) throw ValidationFailedException.For(field, $"The {noun} {error}");
        if (url.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) return;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw ValidationFailedException.For(field, $"The {noun} is not an absolute URL.");
        if (await outbound.RefusalAsync(uri, cancellationToken).ConfigureAwait(false) is { } refused)
            throw ValidationFailedException.For(field, $"The {noun} {refused}");
    }

    public Task<PullSource?> GetForChannelAsync(string channelId, CancellationToken cancellationToken = default)
        => repository.GetAsync(Owner.Channel, channelId, cancellationToken);

    public Task<PullSource?> GetForEventAsync(string eventId, CancellationToken cancellationToken = default)
        => repository.GetAsync(Owner.Event, eventId, cancellationToken);

    /// <summary>Every event's source, by event id.</summary>
    public Task<IReadOnlyDictionary<string, PullSource>> ListForEventsAsync(CancellationToken cancellationToken = default)
        => repository.ListAsync(Owner.Event, cancellationToken);

    /// <summary>Sets the channel's own source. Null when there is no such channel.</summary>
    /// <exception cref="ValidationFailedException">The url is invalid (field <c>url</c>).</exception>
    public async Task<PullSource?> SetForChannelAsync(string channelId, string? url, bool loop, bool allowUntrustedCertificate = false,
        CancellationToken cancellationToken = default)
    {
        await ValidateAsync(url, "url", cancellationToken).ConfigureAwait(false);
        var source = new PullSource(url!.Trim(), loop, Sql.Millis(time.GetUtcNow()), allowUntrustedCertificate);
        if (!await repository.SetAsync(Owner.Channel, channelId, source, cancellationToken).ConfigureAwait(false)) return null;
        signal.Wake();
        return source;
    }

    /// <summary>The channel goes back to taking a publisher. False when it had no source.</summary>
    public async Task<bool> DeleteForChannelAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var deleted = await repository.DeleteAsync(Owner.Channel, channelId, cancellationToken).ConfigureAwait(false);
        signal.Wake();
        return deleted;
    }

    /// <summary>Sets (or with a null url removes) the event's source and schedules its start. The caller validated the url
    /// (<see cref="ValidateAsync"/>).</summary>
    public async Task<PullSource?> SetForEventAsync(BroadcastEvent ev, string? url, bool loop, bool allowUntrustedCertificate = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ev);
        PullSource? source = null;
        if (string.IsNullOrWhiteSpace(url)) await repository.DeleteAsync(Owner.Event, ev.Id, cancellationToken).ConfigureAwait(false);
        else
        {
            source = new PullSource(url.Trim(), loop, Sql.Millis(time.GetUtcNow()), allowUntrustedCertificate);
            if (!await repository.SetAsync(Owner.Event, ev.Id, source, cancellationToken).ConfigureAwait(false)) return null;
        }
        await scheduler.EventChangedAsync(ev, cancellationToken).ConfigureAwait(false);
        signal.Wake();
        return source;
    }

    /// <summary>The state of the pull of this version of the owner's source, when it is the one running (or last run) on the channel.</summary>
    public PullSourceStatus? StatusOf(Channel channel, string? eventId, PullSource source)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(source);
        var key = eventId is null ? PullAssignment.ChannelKey(channel.Id, source) : PullAssignment.EventKey(eventId, source);
        return runner.Find(channel.Slug) is { } status && status.Key == key ? status : null;
    }

    /// <summary>What should pull into which channel at <paramref name="now"/>.</summary>
    public async Task<IReadOnlyList<PullAssignment>> AssignmentsAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        var result = new Dictionary<string, PullAssignment>(StringComparer.Ordinal);
        var eventSources = await repository.ListAsync(Owner.Event, cancellationToken).ConfigureAwait(false);
        if (eventSources.Count > 0)
        {
            foreach (var ev in await events.ListOpenAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!eventSources.TryGetValue(ev.Id, out var source) || now < ev.StartsAt || now >= ev.EndsAt) continue;
                if (await channels.GetAsync(ev.ChannelId, cancellationToken).ConfigureAwait(false) is not { Revoked: false } channel) continue;
                result.TryAdd(channel.Slug,
                    new PullAssignment(channel.Id, channel.Slug, source.Url, source.Loop, PullAssignment.EventKey(ev.Id, source),
                    source.AllowUntrustedCertificate));
            }
        }
        foreach (var (channelId, source) in await repository.ListAsync(Owner.Channel, cancellationToken).ConfigureAwait(false))
        {
            if (await channels.GetAsync(channelId, cancellationToken).ConfigureAwait(false) is not { Revoked: false } channel) continue;
            if (result.ContainsKey(channel.Slug)) continue;
            if (!(await events.CanPublishAsync(channel, now, cancellationToken).ConfigureAwait(false)).Allowed) continue;
            result[channel.Slug] = new PullAssignment(channel.Id, channel.Slug, source.Url, source.Loop,
                PullAssignment.ChannelKey(channel.Id, source),
                source.AllowUntrustedCertificate);
        }
        return result.Values.ToList();
    }
}

/// <summary>Wakes the coordinator at once (a source changed, an event's start trigger fired) instead of at its next tick.</summary>
public sealed class PullSourceSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);
}
