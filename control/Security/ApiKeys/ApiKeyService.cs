using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Channels;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Security.ApiKeys;

/// <summary>What a new key is asked to be: a name, its scopes, the channels it is limited to (none: every channel), its expiry.</summary>
public sealed record ApiKeySpec(string? Name, IReadOnlyList<string>? Scopes, IReadOnlyList<string>? Channels, DateTimeOffset? ExpiresAt);

/// <summary>A key just made, with its secret token: the only time the token is known to the server.</summary>
public sealed record IssuedApiKey(ApiKey Key, string Token);

/// <summary>Why a presented key was not accepted (logged; the client gets one answer for all of them).</summary>
public enum ApiKeyRefusal
{
    None,
    Malformed,
    Unknown,
    WrongSecret,
    Expired,
}

/// <summary>
/// Scoped API keys: made (the token shown once), listed, revoked, and checked on each request. A token is
/// <c>bk_{id}_{secret}</c>: the id finds the row, the secret (256 random bits) is compared by its SHA-256 in constant time.
/// A fast hash is right here: the secret is random, so there is nothing for a slow hash to protect against guessing.
/// A key's last use is written at most once a minute per key and node, so requests do not each write the database.
/// </summary>
public sealed partial class ApiKeyService(IApiKeyRepository keys, IChannelRepository channels, TimeProvider time, ILogger<ApiKeyService> logger)
{
    /// <summary>Keys in all: the table is keyed by what admins send, so it has a cap.</summary>
    public const int MaxKeys = 200;

    public const int MaxNameLength = 100;

    /// <summary>Channels one key may be limited to.</summary>
    public const int MaxChannels = 100;

    /// <summary>The longest a key may live: rotation is the platform's habit to keep.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(3 * 366);

    /// <summary>How stale a key's shown last use may be.</summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    public const string TokenPrefix = "bk_";
    private const int IdHexLength = 16;
    private const int SecretBytes = 32;

    /// <summary>
    /// Refused keys per address: ten in a minute block the address for five minutes, answered without a database lookup,
    /// as stream keys are (<see cref="Broadcast.Network.FailedAttemptGuard"/>). The secret has 256 bits, so this is about
    /// the cost of junk keys (a lookup and a log line each), not about guessing.
    /// </summary>
    public Broadcast.Network.FailedAttemptGuard Refusals =>
        LazyInitializer.EnsureInitialized(ref _refusals, () => new(10, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), time));

    private Broadcast.Network.FailedAttemptGuard? _refusals;

    // Key id -> when a refusal of that existing key was last logged: at most once a minute per key (a backend whose key
    // expired sends it on every request). Only ids of stored keys enter: bounded by MaxKeys plus revoked ones, pruned.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _refusalLogged = new(StringComparer.Ordinal);

    // Key id -> when this node last wrote its last use. Only ids of keys that authenticated enter: at most MaxKeys live
    // ones, plus keys revoked on another node until the prune below.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastWritten = new(StringComparer.Ordinal);

    public async Task<IssuedApiKey> CreateAsync(ApiKeySpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var now = time.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        string name = spec.Name?.Trim() ?? "";
        if (name.Length == 0 || name.Length > MaxNameLength || name.Any(char.IsControl))
            errors["name"] = [$"A name of 1 to {MaxNameLength} characters (no control characters) is required."];
        var scopes = (spec.Scopes ?? []).Select(s => s?.Trim() ?? "").Distinct(StringComparer.Ordinal).ToList();
        if (scopes.Count == 0) errors["scopes"] = ["At least one scope is required: " + string.Join(", ", ApiScopes.All) + "."];
        else if (scopes.FirstOrDefault(s => !ApiScopes.IsKnown(s)) is { } unknown)
            errors["scopes"] = [$"'{Shorten(unknown)}' is not a scope; the scopes are {string.Join(", ", ApiScopes.All)}."];
        var limitedTo = (spec.Channels ?? []).Select(c => c?.Trim() ?? "").Distinct(StringComparer.Ordinal).ToList();
        if (limitedTo.Count > MaxChannels) errors["channels"] = [$"A key may be limited to at most {MaxChannels} channels."];
        else if (limitedTo.Any(c => c.Length == 0 || c.Length > 64 || c.Contains(' ', StringComparison.Ordinal)))
            errors["channels"] = ["Each channel is a channel id."];
        if (spec.ExpiresAt is not { } expiresAt) errors["expiresAt"] = ["An expiry (a UTC date-time) is required."];
        else if (expiresAt <= now) errors["expiresAt"] = ["The expiry must be in the future."];
        else if (expiresAt - now > MaxLifetime) errors["expiresAt"] = [$"A key lives at most {MaxLifetime.TotalDays:0} days."];
        if (errors.Count == 0)
        {
            foreach (string channel in limitedTo)
            {
                if (await channels.GetByIdAsync(channel, cancellationToken).ConfigureAwait(false) is null)
                {
                    errors["channels"] = [$"No channel has id '{channel}'."];
                    break;
                }
            }
        }
        if (errors.Count > 0) throw new ValidationFailedException(errors);

        string id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(IdHexLength / 2));
        string secret = Base64Url(RandomNumberGenerator.GetBytes(SecretBytes));
        var key = new ApiKey(id, name, scopes, limitedTo, Millis(spec.ExpiresAt!.Value), Millis(now), null, Hash(secret));
        if (!await keys.TryInsertAsync(key, MaxKeys, cancellationToken).ConfigureAwait(false))
            throw new ConflictException($"There are {MaxKeys} API keys already; revoke one first.");
        LogCreated(logger, id, name, string.Join(' ', scopes), limitedTo.Count);
        return new IssuedApiKey(key, $"{TokenPrefix}{id}_{secret}");
    }

    public Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default) => keys.ListAsync(cancellationToken);

    /// <summary>Revokes (deletes) the key: its next request is refused, on every node.</summary>
    public async Task<bool> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        bool revoked = await keys.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        _lastWritten.TryRemove(id, out _);
        if (revoked) LogRevoked(logger, id);
        return revoked;
    }

    /// <summary>Whether <paramref name="token"/> looks like an API key (so the API key scheme, not the admin token's, judges it).</summary>
    public static bool LooksLikeKey(ReadOnlySpan<char> token) => token.StartsWith(TokenPrefix, StringComparison.Ordinal);

    /// <summary>The key <paramref name="token"/> is, when it is a live key with this secret; else why not.</summary>
    public async Task<(ApiKey? Key, ApiKeyRefusal Refusal)> AuthenticateAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!TryParse(token, out string? id, out string? secret)) return (null, ApiKeyRefusal.Malformed);
        var key = await keys.GetAsync(id, cancellationToken).ConfigureAwait(false);
        // An unknown id is not logged by itself (anyone can send one): an address that keeps sending them is, once blocked.
        if (key is null) return (null, ApiKeyRefusal.Unknown);
        var now = time.GetUtcNow();
        if (!CryptographicOperations.FixedTimeEquals(Hash(secret), key.SecretHash))
        {
            LogRefusedOncePerMinute(id, ApiKeyRefusal.WrongSecret, now);
            return (null, ApiKeyRefusal.WrongSecret);
        }
        if (key.ExpiresAt <= now)
        {
            LogRefusedOncePerMinute(id, ApiKeyRefusal.Expired, now);
            return (null, ApiKeyRefusal.Expired);
        }
        await TouchAsync(key, now, cancellationToken).ConfigureAwait(false);
        return (key, ApiKeyRefusal.None);
    }

    /// <summary>Counts a refused key against <paramref name="address"/>; logs the block when this refusal starts one.</summary>
    public void RecordRefusal(System.Net.IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (Refusals.RecordFailure(address, out int failures)) LogAddressBlocked(logger, address.ToString(), failures);
    }

    private void LogRefusedOncePerMinute(string id, ApiKeyRefusal refusal, DateTimeOffset now)
    {
        if (_refusalLogged.TryGetValue(id, out var last) && now - last < TimeSpan.FromMinutes(1)) return;
        _refusalLogged[id] = now;
        ForgetOldPastTwiceTheCap(_refusalLogged, now, TimeSpan.FromMinutes(1));
        LogRefused(logger, id, refusal);
    }

    /// <summary>
    /// A table keyed by key id holds live keys (at most <see cref="MaxKeys"/>) and keys revoked elsewhere: past twice the cap,
    /// the entries older than <paramref name="age"/> go.
    /// </summary>
    private static void ForgetOldPastTwiceTheCap(ConcurrentDictionary<string, DateTimeOffset> table, DateTimeOffset now, TimeSpan age)
    {
        if (table.Count <= 2 * MaxKeys) return;
        foreach (var (id, at) in table)
            if (now - at >= age) table.TryRemove(id, out _);
    }

    private async Task TouchAsync(ApiKey key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (_lastWritten.TryGetValue(key.Id, out var written) && now - written < LastUsedResolution) return;
        if (key.LastUsedAt is { } stored && now - stored < LastUsedResolution)
        {
            // Another node (or this one before a restart) wrote it within the minute.
            _lastWritten[key.Id] = stored;
            return;
        }
        _lastWritten[key.Id] = now;
        // Keys revoked on other nodes leave their entry here.
        ForgetOldPastTwiceTheCap(_lastWritten, now, LastUsedResolution);
        await keys.SetLastUsedAsync(key.Id, now, cancellationToken).ConfigureAwait(false);
    }

    private static bool TryParse(string token, out string id, out string secret)
    {
        id = secret = "";
        if (!LooksLikeKey(token) || token.Length != TokenPrefix.Length + IdHexLength + 1 + 43 || token[TokenPrefix.Length + IdHexLength] != '_')
            return false;
        id = token.Substring(TokenPrefix.Length, IdHexLength);
        secret = token[(TokenPrefix.Length + IdHexLength + 1)..];
        foreach (char c in id)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c)) return false;
        }
        return true;
    }

    internal static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static DateTimeOffset Millis(DateTimeOffset value) => Persistence.Sql.Millis(value);

    private static string Shorten(string value) => value.Length > 40 ? value[..40] + "…" : value;

    [LoggerMessage(EventId = 3771, Level = LogLevel.Information, Message = "API key {KeyId} ('{Name}') created with scopes {Scopes}, limited to {Channels} channels (0: all)")]
    private static partial void LogCreated(ILogger logger, string keyId, string name, string scopes, int channels);

    [LoggerMessage(EventId = 3772, Level = LogLevel.Information, Message = "API key {KeyId} revoked")]
    private static partial void LogRevoked(ILogger logger, string keyId);

    [LoggerMessage(EventId = 3773, Level = LogLevel.Warning, Message = "API key {KeyId} refused: {Refusal} (logged at most once a minute per key)")]
    private static partial void LogRefused(ILogger logger, string keyId, ApiKeyRefusal refusal);

    [LoggerMessage(EventId = 3774, Level = LogLevel.Warning,
        Message = "Address {Address} blocked for 5 minutes after {Failures} refused API keys in a minute; its requests are refused without a lookup")]
    private static partial void LogAddressBlocked(ILogger logger, string address, int failures);
}
