using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Restream;

/// <summary>
/// A channel's restream destinations. Keys are encrypted with the server secret (<see cref="StreamKeyProtector"/>,
/// associated data <c>destination:{id}</c>) and handed out in full only to the pipeline
/// (<see cref="ListWithKeysAsync"/>); the API sees a mask. Every change is passed to <see cref="IDestinationLiveStatus"/>
/// so a live channel picks it up at once.
/// </summary>
public sealed partial class DestinationService(
    IDestinationRepository repository,
    IChannelRepository channels,
    StreamKeyProtector protector,
    IDestinationLiveStatus live,
    OutboundGuard outbound,
    TimeProvider time,
    ILogger<DestinationService> logger)
{
    /// <summary>Destinations one channel may have.</summary>
    public const int MaxPerChannel = 20;

    /// <summary>Field errors (camelCase); a create needs url and streamKey, an update only validates what it names.</summary>
    public static IReadOnlyDictionary<string, string[]> Validate(DestinationSpec spec, bool create)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (create || spec.Url is not null)
        {
            if (DestinationUrls.ValidateUrl(spec.Url) is { } error) errors["url"] = [error];
        }
        if (create || spec.StreamKey is not null)
        {
            if (DestinationUrls.ValidateStreamKey(spec.StreamKey) is { } error) errors["streamKey"] = [error];
        }
        return errors;
    }

    /// <summary>
    /// <see cref="Validate"/>, then the outbound policy on the URL's host as it resolves now (the pipeline checks again at every
    /// connection and connects to the addresses it checked).
    /// </summary>
    /// <exception cref="ValidationFailedException">A named field is invalid or the URL is refused (field <c>url</c>).</exception>
    public async Task ValidateAsync(DestinationSpec spec, bool create, CancellationToken cancellationToken)
    {
        var errors = Validate(spec, create);
        if (errors.Count == 0 && spec.Url is { } url && Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri)
            && await outbound.RefusalAsync(uri, cancellationToken).ConfigureAwait(false) is { } refused)
            errors = new Dictionary<string, string[]>(StringComparer.Ordinal) { ["url"] = ["The URL " + refused] };
        if (errors.Count > 0) throw new ValidationFailedException(errors);
    }

    /// <summary>Null when the channel does not exist.</summary>
    /// <exception cref="ValidationFailedException">The spec is invalid, or the channel has too many destinations.</exception>
    public async Task<Destination?> CreateAsync(string channelId, DestinationSpec spec, CancellationToken cancellationToken = default)
    {
        await ValidateAsync(spec, create: true, cancellationToken).ConfigureAwait(false);
        var channel = await channels.GetByIdAsync(channelId, cancellationToken).ConfigureAwait(false);
        if (channel is null) return null;
        var existing = await repository.ListAsync(channelId, cancellationToken).ConfigureAwait(false);
        if (existing.Count >= MaxPerChannel)
            throw ValidationFailedException.For("url", $"A channel has at most {MaxPerChannel} destinations.");
        var now = time.GetUtcNow();
        var id = RowId.New(now);
        var key = spec.StreamKey!;
        var record = new DestinationRecord(id, channelId, spec.Url!.Trim(), protector.Protect(AssociatedData(id), key), DestinationUrls.Mask(key),
            spec.Enabled ?? true, spec.AllowUntrustedCertificate ?? false, spec.Multitrack ?? false, Sql.Millis(now), Sql.Millis(now));
        await repository.InsertAsync(record, cancellationToken).ConfigureAwait(false);
        Created(logger, id, channelId, record.Url);
        await NotifyAsync(channel.Slug, cancellationToken).ConfigureAwait(false);
        return ToDestination(record);
    }

    /// <summary>Null when the channel does not exist.</summary>
    public async Task<IReadOnlyList<Destination>?> ListAsync(string channelId, CancellationToken cancellationToken = default)
    {
        if (await channels.GetByIdAsync(channelId, cancellationToken).ConfigureAwait(false) is null) return null;
        var rows = await repository.ListAsync(channelId, cancellationToken).ConfigureAwait(false);
        return rows.Select(ToDestination).ToList();
    }

    public async Task<Destination?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetAsync(channelId, id, cancellationToken).ConfigureAwait(false);
        return record is null ? null : ToDestination(record);
    }

    /// <summary>The enabled and disabled destinations of a channel with their keys decrypted: for the restream pipeline only.
    /// A key that no longer decrypts (the server secret changed) leaves its destination out, with a warning.</summary>
    public async Task<IReadOnlyList<DestinationWithKey>> ListWithKeysAsync(string channelId, CancellationToken cancellationToken = default)
    {
        var rows = await repository.ListAsync(channelId, cancellationToken).ConfigureAwait(false);
        var result = new List<DestinationWithKey>(rows.Count);
        foreach (var row in rows)
        {
            try
            {
                result.Add(new DestinationWithKey(ToDestination(row), protector.Unprotect(AssociatedData(row.Id), row.KeyCiphertext)));
            }
            catch (System.Security.Cryptography.CryptographicException)
            {
                KeyUnreadable(logger, row.Id, channelId);
            }
        }
        return result;
    }

    /// <summary>Applies the non-null fields; null when the destination does not exist.</summary>
    /// <exception cref="ValidationFailedException">A named field is invalid.</exception>
    public async Task<Destination?> UpdateAsync(string channelId, string id, DestinationSpec spec, CancellationToken cancellationToken = default)
    {
        await ValidateAsync(spec, create: false, cancellationToken).ConfigureAwait(false);
        var record = await repository.GetAsync(channelId, id, cancellationToken).ConfigureAwait(false);
        if (record is null) return null;
        var updated = record with
        {
            Url = spec.Url?.Trim() ?? record.Url,
            KeyCiphertext = spec.StreamKey is { } key ? protector.Protect(AssociatedData(id), key) : record.KeyCiphertext,
            KeyHint = spec.StreamKey is { } k ? DestinationUrls.Mask(k) : record.KeyHint,
            Enabled = spec.Enabled ?? record.Enabled,
            AllowUntrustedCertificate = spec.AllowUntrustedCertificate ?? record.AllowUntrustedCertificate,
            Multitrack = spec.Multitrack ?? record.Multitrack,
            UpdatedAt = Sql.Millis(time.GetUtcNow()),
        };
        if (!await repository.UpdateAsync(updated, cancellationToken).ConfigureAwait(false)) return null;
        Updated(logger, id, channelId, updated.Url, updated.Enabled);
        await NotifyChannelAsync(channelId, cancellationToken).ConfigureAwait(false);
        return ToDestination(updated);
    }

    public async Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default)
    {
        if (!await repository.DeleteAsync(channelId, id, cancellationToken).ConfigureAwait(false)) return false;
        Deleted(logger, id, channelId);
        await NotifyChannelAsync(channelId, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The state the API shows: the pipeline's, or idle/stopped from the enabled flag when it has none running.</summary>
    public RestreamState StateOf(Destination destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        var state = live.Get(destination.Id);
        if (!destination.Enabled)
            return (state ?? RestreamState.IdleFor(destination.Id)) with { Phase = RestreamPhase.Stopped };
        if (state is null) return RestreamState.IdleFor(destination.Id);
        // An enabled destination whose last session ended with the broadcast waits for the next one.
        return state.Phase == RestreamPhase.Stopped ? state with { Phase = RestreamPhase.Idle } : state;
    }

    private async Task NotifyChannelAsync(string channelId, CancellationToken cancellationToken)
    {
        var channel = await channels.GetByIdAsync(channelId, cancellationToken).ConfigureAwait(false);
        if (channel is not null) await NotifyAsync(channel.Slug, cancellationToken).ConfigureAwait(false);
    }

    private async Task NotifyAsync(string slug, CancellationToken cancellationToken)
    {
        try
        {
            await live.DestinationsChangedAsync(slug, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The change is stored; the pipeline's periodic refresh picks it up.
            NotifyFailed(logger, ex, slug);
        }
    }

    private static string AssociatedData(string destinationId) => "destination:" + destinationId;

    private static Destination ToDestination(DestinationRecord r) =>
        new(r.Id, r.ChannelId, r.Url, r.KeyHint, r.Enabled, r.AllowUntrustedCertificate, r.Multitrack, r.CreatedAt, r.UpdatedAt);

    [LoggerMessage(EventId = 3501, Level = LogLevel.Information,
        Message = "Restream destination {DestinationId} of channel {ChannelId} created: {Url}")]
    private static partial void Created(ILogger logger, string destinationId, string channelId, string url);

    [LoggerMessage(EventId = 3502, Level = LogLevel.Information,
        Message = "Restream destination {DestinationId} of channel {ChannelId} updated: {Url}, enabled {Enabled}")]
    private static partial void Updated(ILogger logger, string destinationId, string channelId, string url, bool enabled);

    [LoggerMessage(EventId = 3503, Level = LogLevel.Information, Message = "Restream destination {DestinationId} of channel {ChannelId} deleted")]
    private static partial void Deleted(ILogger logger, string destinationId, string channelId);

    [LoggerMessage(EventId = 3504, Level = LogLevel.Warning,
        Message = "Restream destination {DestinationId} of channel {ChannelId}: its stream key does not decrypt under the current server secret; " +
            "set the key again")]
    private static partial void KeyUnreadable(ILogger logger, string destinationId, string channelId);

    [LoggerMessage(EventId = 3505, Level = LogLevel.Warning,
        Message = "Restream change of channel {Slug} not applied at once; the periodic refresh will")]
    private static partial void NotifyFailed(ILogger logger, Exception exception, string slug);
}
