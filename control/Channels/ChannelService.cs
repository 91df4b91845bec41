using System.Security.Cryptography;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Channels;

/// <summary>
/// Channels and their stream keys. The plaintext key leaves this class only from create, rotate and
/// reveal; it is stored as a SHA-256 (lookup) and as AES-GCM ciphertext (reveal), never as itself.
/// </summary>
public sealed partial class ChannelService(
    IChannelRepository repository,
    StreamKeyProtector protector,
    TimeProvider time,
    IPublishRuleChanges changes,
    ILogger<ChannelService> logger)
{
    public const int NameMaxLength = 100;
    public const string DefaultChannelName = "default";

    /// <summary>The longest rewind window a channel may ask for: 24 hours.</summary>
    public const int RewindSecondsMax = 86_400;

    // Slug and key-hash collisions between concurrent creators are resolved by retrying with a fresh pick.
    private const int InsertAttempts = 8;

    /// <summary>Field errors of a spec (camelCase field names); empty when valid.</summary>
    public static IReadOnlyDictionary<string, string[]> Validate(ChannelSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var name = spec.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors["name"] = ["The name is required."];
        }
        else if (name.Length > NameMaxLength)
        {
            errors["name"] = [$"The name must be at most {NameMaxLength} characters."];
        }
        else if (name.Any(char.IsControl))
        {
            errors["name"] = ["The name must not contain control characters."];
        }

        if (RewindError(spec.RewindSeconds) is { } rewind)
        {
            errors["rewindSeconds"] = [rewind];
        }

        if (ChannelKeyRotation.Error(spec.KeyRotationSegments) is { } rotation)
        {
            errors[ChannelKeyRotation.Field] = [rotation];
        }

        return errors;
    }

    /// <summary>Why a rewind window is refused, or null when it is fine (null itself is: the server's window).</summary>
    private static string? RewindError(int? seconds)
        => seconds is < 0 or > RewindSecondsMax
            ? $"rewindSeconds must be between 0 (live window only) and {RewindSecondsMax} seconds (24 hours)."
            : null;

    /// <summary>Creates a channel and returns its key in full: the only time the key is handed out unasked.</summary>
    /// <exception cref="ValidationFailedException">The spec is invalid.</exception>
    public Task<IssuedChannel> CreateAsync(ChannelSpec spec, CancellationToken cancellationToken = default)
    {
        var errors = Validate(spec);
        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        return CreateCoreAsync(spec with { Name = spec.Name!.Trim() }, fixedSlug: null, cancellationToken);
    }

    public async Task<Channel?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false);
        return record is null ? null : ToChannel(record);
    }

    /// <summary>How old a channel found by <see cref="GetBySlugSharedAsync"/> may be.</summary>
    public static readonly TimeSpan SharedLookupLifetime = TimeSpan.FromSeconds(2);

    private readonly Persistence.SharedReads<string, Channel?> _bySlug = new(SharedLookupLifetime, 10_000, time);

    /// <summary>
    /// <see cref="GetBySlugAsync"/> for anonymous reads that every viewer makes (a chat join): concurrent and repeated
    /// lookups of one slug share one query for <see cref="SharedLookupLifetime"/>, made-up slugs included. A channel
    /// deleted on this node is forgotten at once; on another node, within that time.
    /// </summary>
    public Task<Channel?> GetBySlugSharedAsync(string slug) => _bySlug.GetAsync(slug, s => GetBySlugAsync(s, CancellationToken.None));

    public async Task<Channel?> GetBySlugAsync(string slug, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false);
        return record is null ? null : ToChannel(record);
    }

    public async Task<IReadOnlyList<Channel>> ListAsync(CancellationToken cancellationToken = default)
    {
        var records = await repository.ListAsync(cancellationToken).ConfigureAwait(false);
        return records.Select(ToChannel).ToList();
    }

    /// <summary>
    /// Which channel may publish with <paramref name="streamKey"/>. An indexed lookup by the key's
    /// SHA-256, then a constant-time compare of the stored hash, so no branch depends on how much
    /// of a guessed key was right.
    /// </summary>
    public async Task<StreamKeyLookup> FindByStreamKeyAsync(string? streamKey, CancellationToken cancellationToken = default)
    {
        if (!StreamKeys.IsWellFormed(streamKey))
        {
            return new StreamKeyLookup(null, StreamKeyRejection.Malformed);
        }

        var hash = StreamKeys.Hash(streamKey!);
        var record = await repository.FindByKeyHashAsync(hash, cancellationToken).ConfigureAwait(false);
        if (record is null || !CryptographicOperations.FixedTimeEquals(hash, record.KeyHash))
        {
            return new StreamKeyLookup(null, StreamKeyRejection.Unknown);
        }

        return record.Revoked
            ? new StreamKeyLookup(null, StreamKeyRejection.Revoked)
            : new StreamKeyLookup(ToChannel(record), StreamKeyRejection.None);
    }

    /// <summary>Issues a new key; the old one stops working at once. Also lifts a revocation. Null when no such channel.</summary>
    public async Task<IssuedChannel?> RotateKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        var key = StreamKeys.Generate();
        if (!await repository.ReplaceKeyAsync(id, StreamKeys.Hash(key), protector.Protect(id, key), cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        var record = await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        LogKeyRotated(id);
        return new IssuedChannel(ToChannel(record, key), key);
    }

    /// <summary>Decrypts the stored key. Null when no such channel.</summary>
    /// <exception cref="CryptographicException">The key was encrypted under another server secret.</exception>
    public async Task<IssuedChannel?> RevealKeyAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false);
        return record is null ? null : new IssuedChannel(ToChannel(record), protector.Unprotect(record.Id, record.KeyCiphertext));
    }

    /// <summary>
    /// Changes a channel's name and flags; null fields keep their value, and so does the rewind window. The slug stays: it
    /// is in every playback URL already handed out. Null when no such channel.
    /// </summary>
    /// <exception cref="ValidationFailedException">The name is invalid.</exception>
    public async Task<Channel?> UpdateAsync(string id, string? name, bool? requireSchedule, bool? lowLatency,
        CancellationToken cancellationToken = default)
        => await UpdateAsync(id, name, requireSchedule, lowLatency, realTime: null, RewindChange.Keep, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc cref="UpdateAsync(string, string?, bool?, bool?, CancellationToken)"/>
    public async Task<Channel?> UpdateAsync(string id, string? name, bool? requireSchedule, bool? lowLatency, bool? realTime,
        CancellationToken cancellationToken = default)
        => await UpdateAsync(id, name, requireSchedule, lowLatency, realTime, RewindChange.Keep, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Changes a channel's name, flags and rewind window: null fields keep their value; <paramref name="rewind"/> keeps the
    /// window (<see cref="RewindChange.Keep"/>) or sets it (<see cref="RewindChange.To"/>, null for the server's). The slug
    /// stays: it is in every playback URL already handed out. Null when no such channel.
    /// </summary>
    /// <exception cref="ValidationFailedException">The name is invalid, or the window is outside 0 to <see cref="RewindSecondsMax"/>.</exception>
    public async Task<Channel?> UpdateAsync(string id, string? name, bool? requireSchedule, bool? lowLatency, bool? realTime,
        RewindChange rewind, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return null;
        }

        var errors = name is null
            ? new Dictionary<string, string[]>(StringComparer.Ordinal)
            : new Dictionary<string, string[]>(Validate(new ChannelSpec(name)), StringComparer.Ordinal);
        if (rewind.IsSet && RewindError(rewind.Seconds) is { } rewindError)
        {
            errors["rewindSeconds"] = [rewindError];
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }

        var changed = record with
        {
            Name = name?.Trim() ?? record.Name,
            RequireSchedule = requireSchedule ?? record.RequireSchedule,
            LowLatency = lowLatency ?? record.LowLatency,
            RealTime = realTime ?? record.RealTime,
            RewindSeconds = rewind.IsSet ? rewind.Seconds : record.RewindSeconds,
        };
        if (!await repository.UpdateAsync(id, changed.Name, changed.RequireSchedule, changed.LowLatency, changed.RealTime, changed.RewindSeconds,
                ChannelEvent(WebhookEventTypes.ChannelUpdated, changed), cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        LogUpdated(id);
        // RequireSchedule may have been turned on while the channel is live.
        changes.Announce(record.Slug);
        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Names the encoder's untagged audio tracks (<see cref="Channel.AudioTracks"/>), replacing the names before; an empty
    /// list names none. Broadcasts that start from now on take them (a live one keeps the names its players were given).
    /// Null when no such channel.
    /// </summary>
    /// <exception cref="ValidationFailedException">An entry's language or purpose does not read, or there are too many.</exception>
    public async Task<Channel?> SetAudioTracksAsync(string id, IReadOnlyList<(string? Language, string? Purpose)> tracks,
        CancellationToken cancellationToken = default)
    {
        var (labels, errors) = AudioTrackNames.Read(tracks);
        if (labels is null)
            throw new ValidationFailedException(new Dictionary<string, string[]>(StringComparer.Ordinal) { ["tracks"] = [.. errors] });
        if (!await repository.SetAudioTracksAsync(id, AudioTrackNames.Encode(labels), cancellationToken).ConfigureAwait(false)) return null;
        LogUpdated(id);
        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sets how the channel's broadcasts are encrypted (<see cref="ChannelProtection"/>) and how often their content key
    /// changes (<see cref="Channel.KeyRotationSegments"/>; null keeps the channel's); broadcasts that start from now on take
    /// both (a live one keeps what its players were given). A rotation set while the scheme is none is kept for when the
    /// channel is protected. Null when no such channel.
    /// </summary>
    /// <exception cref="ValidationFailedException">The rotation is outside 0 to <see cref="ChannelKeyRotation.MaxSegments"/>.</exception>
    public async Task<Channel?> SetProtectionAsync(string id, ChannelProtection protection, int? keyRotationSegments = null,
        CancellationToken cancellationToken = default)
    {
        if (keyRotationSegments is { } asked && ChannelKeyRotation.Error(asked) is { } error)
            throw ValidationFailedException.For(ChannelKeyRotation.Field, error);
        int rotation;
        if (keyRotationSegments is { } segments) rotation = segments;
        else if (await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false) is { } record) rotation = record.KeyRotationSegments;
        else return null;
        if (!await repository.SetProtectionAsync(id, protection, rotation, cancellationToken).ConfigureAwait(false)) return null;
        LogUpdated(id);
        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the key from working without issuing a new one; rotate to re-enable. Null when no such channel.</summary>
    public async Task<Channel?> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!await repository.SetRevokedAsync(id, true, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        LogKeyRevoked(id);
        return await GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var record = await repository.GetByIdAsync(id, cancellationToken).ConfigureAwait(false);
        if (record is null || !await repository.DeleteAsync(id, ChannelEvent(WebhookEventTypes.ChannelDeleted, record), cancellationToken)
                .ConfigureAwait(false))
        {
            return false;
        }

        LogDeleted(id);
        _bySlug.Forget(record.Slug);
        // A broadcast of it that another node holds (one this node could not see) ends there.
        changes.Announce(record.Slug);
        return true;
    }

    /// <summary>
    /// The channel with slug "default", created on first start, with its key decrypted so the
    /// embedded server can print it at every start.
    /// </summary>
    public async Task<DefaultChannel> EnsureDefaultChannelAsync(CancellationToken cancellationToken = default)
    {
        var created = false;
        var record = await repository.GetBySlugAsync(DefaultChannelName, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            try
            {
                var issued = await CreateCoreAsync(new ChannelSpec(DefaultChannelName), DefaultChannelName, cancellationToken).ConfigureAwait(false);
                return new DefaultChannel(issued.Channel, issued.StreamKey, Created: true);
            }
            catch (InvalidOperationException)
            {
                // Another node created it between our read and our insert.
                record = await repository.GetBySlugAsync(DefaultChannelName, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException("The default channel could not be created.");
            }
        }

        try
        {
            return new DefaultChannel(ToChannel(record), protector.Unprotect(record.Id, record.KeyCiphertext), created);
        }
        catch (CryptographicException)
        {
            LogCannotReveal(record.Id);
            return new DefaultChannel(ToChannel(record), null, created);
        }
    }

    private async Task<IssuedChannel> CreateCoreAsync(ChannelSpec spec, string? fixedSlug, CancellationToken cancellationToken)
    {
        var name = spec.Name!;
        var baseSlug = fixedSlug ?? Slugs.FromName(name);
        // Suffixes may shorten a long base slug, so search by a prefix that every suffixed form keeps.
        var prefix = baseSlug.Length > Slugs.MaxLength - 8 ? baseSlug[..(Slugs.MaxLength - 8)].TrimEnd('-') : baseSlug;
        for (var attempt = 0; attempt < InsertAttempts; attempt++)
        {
            string slug;
            if (fixedSlug is not null)
            {
                slug = fixedSlug;
            }
            else
            {
                var taken = await repository.ListSlugsWithPrefixAsync(prefix, cancellationToken).ConfigureAwait(false);
                slug = Slugs.FirstFree(baseSlug, taken);
            }

            var id = RowId.New(time.GetUtcNow());
            var key = StreamKeys.Generate();
            // Millisecond precision: what both SQLite text and PostgreSQL timestamptz round-trip exactly.
            var now = time.GetUtcNow();
            var createdAt = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerMillisecond, TimeSpan.Zero);
            var record = new ChannelRecord(id, name, slug, StreamKeys.Hash(key), protector.Protect(id, key),
                spec.RequireSchedule, spec.LowLatency, Revoked: false, createdAt, spec.RealTime, spec.RewindSeconds, Protection: spec.Protection,
                KeyRotationSegments: spec.KeyRotationSegments);
            if (await repository.TryInsertAsync(record, ChannelEvent(WebhookEventTypes.ChannelCreated, record), cancellationToken).ConfigureAwait(false))
            {
                LogCreated(id, slug);
                return new IssuedChannel(ToChannel(record, key), key);
            }

            if (fixedSlug is not null && await repository.GetBySlugAsync(fixedSlug, cancellationToken).ConfigureAwait(false) is not null)
            {
                break;
            }
        }

        throw new InvalidOperationException($"Could not find a free slug for '{baseSlug}'.");
    }

    /// <summary>A channel.* webhook event of <paramref name="record"/> (as it is after the change), written with the change.</summary>
    private WebhookEvent ChannelEvent(string type, ChannelRecord record) => WebhookEvent.Create(type, record.Id, time.GetUtcNow(), json =>
    {
        json.WriteString("channel", record.Slug);
        json.WriteString("channelId", record.Id);
        json.WriteString("name", record.Name);
        if (type == WebhookEventTypes.ChannelDeleted) return;
        json.WriteBoolean("requireSchedule", record.RequireSchedule);
        json.WriteBoolean("lowLatency", record.LowLatency);
        json.WriteBoolean("realTime", record.RealTime);
        if (record.RewindSeconds is { } rewindSeconds) json.WriteNumber("rewindSeconds", rewindSeconds);
        else json.WriteNull("rewindSeconds");
        WebhookEvent.WriteTime(json, "createdAt", record.CreatedAt);
    });

    private Channel ToChannel(ChannelRecord record)
    {
        string? key = null;
        try
        {
            key = protector.Unprotect(record.Id, record.KeyCiphertext);
        }
        catch (CryptographicException)
        {
            // Encrypted under another secret: the hint stays fully masked; reveal will report the problem.
        }

        return ToChannel(record, key);
    }

    private static Channel ToChannel(ChannelRecord record, string? key)
        => new(record.Id, record.Name, record.Slug, record.RequireSchedule, record.LowLatency, record.Revoked, record.CreatedAt, StreamKeys.Mask(key),
            record.RealTime, record.RewindSeconds, AudioTrackNames.Decode(record.AudioTracks), record.Protection,
            record.KeyRotationSegments);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Channel {ChannelId} created with slug {Slug}")]
    private partial void LogCreated(string channelId, string slug);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Stream key of channel {ChannelId} rotated")]
    private partial void LogKeyRotated(string channelId);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Stream key of channel {ChannelId} revoked")]
    private partial void LogKeyRevoked(string channelId);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Channel {ChannelId} updated")]
    private partial void LogUpdated(string channelId);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Channel {ChannelId} deleted")]
    private partial void LogDeleted(string channelId);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "The stream key of the default channel {ChannelId} cannot be decrypted with the current server secret; " +
            "rotate it with POST /api/channels/{ChannelId}/rotate-key")]
    private partial void LogCannotReveal(string channelId);
}
