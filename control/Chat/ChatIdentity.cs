using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Chat;

/// <summary>
/// Viewer identities without accounts. A viewer id is 16 bytes (the Unix second it was issued, big-endian, then 12 random
/// bytes) plus an HMAC tag (<c>{id}.{tag}</c>, base64url),
/// issued by the server and kept in the browser's localStorage: a viewer cannot post under another's id (and get
/// them banned). Addresses are never stored: a ban keeps a salted hash (HMAC-SHA256, truncated) of the address. The
/// keys are derived from the server secret (<c>Secrets:Key</c>), so every node agrees and nothing new is stored.
/// Viewers see each other only by <see cref="AuthorTag"/>, a one-way tag of the id.
/// </summary>
public sealed class ChatIdentity
{
    private readonly byte[] _idKey;
    private readonly byte[] _addressKey;
    private readonly byte[] _tagKey;

    private readonly TimeProvider _time;

    public ChatIdentity(byte[] serverSecret, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ArgumentNullException.ThrowIfNull(serverSecret);
        _idKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, serverSecret, 32, info: "broadcast chat viewer id"u8.ToArray());
        _addressKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, serverSecret, 32, info: "broadcast chat address salt"u8.ToArray());
        _tagKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, serverSecret, 32, info: "broadcast chat author tag"u8.ToArray());
    }

    public const int ViewerIdLength = 22 + 1 + 22;

    /// <summary>A new signed viewer id.</summary>
    public string NewViewerId()
    {
        Span<byte> id = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(id, (uint)_time.GetUtcNow().ToUnixTimeSeconds());
        RandomNumberGenerator.Fill(id[4..]);
        var body = Base64Url(id);
        return body + "." + Sign(body);
    }

    /// <summary>
    /// The signed viewer id of a viewer the platform names (a playback JWT's <c>sub</c>): 16 bytes of a keyed hash of it, the first
    /// four zero (issued "long ago": the platform vouches for its viewer), so one platform viewer is one chat viewer everywhere.
    /// </summary>
    public string PlatformViewerId(string platformViewerId)
    {
        ArgumentNullException.ThrowIfNull(platformViewerId);
        Span<byte> id = stackalloc byte[32];
        HMACSHA256.HashData(_idKey, Encoding.UTF8.GetBytes("platform viewer\n" + platformViewerId), id);
        id[..4].Clear();
        var body = Base64Url(id[..16]);
        return body + "." + Sign(body);
    }

    /// <summary>
    /// When a valid <paramref name="viewerId"/> was issued, or null when it cannot say: an id issued before ids carried
    /// their time reads as a random second, and one that reads as later than now is such an id (it counts as old).
    /// </summary>
    public DateTimeOffset? IssuedAt(string viewerId)
    {
        if (!IsValid(viewerId)) return null;
        Span<byte> id = stackalloc byte[16];
        if (!System.Buffers.Text.Base64Url.TryDecodeFromChars(viewerId.AsSpan(0, 22), id, out int written) || written != 16) return null;
        var issued = DateTimeOffset.FromUnixTimeSeconds(System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(id));
        return issued <= _time.GetUtcNow() ? issued : null;
    }

    /// <summary>Whether <paramref name="viewerId"/> was issued by this server (any node sharing the secret).</summary>
    public bool IsValid(string? viewerId)
    {
        if (viewerId is not { Length: ViewerIdLength } || viewerId[22] != '.') return false;
        var body = viewerId[..22];
        var expected = Encoding.ASCII.GetBytes(Sign(body));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(viewerId[23..]));
    }

    /// <summary>The salted hash of a client address (32 hex characters); "unknown" hashes as one address.</summary>
    public string HashAddress(IPAddress? address)
    {
        var a = address is null ? "unknown" : AddressKey(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
        return Convert.ToHexStringLower(HMACSHA256.HashData(_addressKey, Encoding.UTF8.GetBytes(a)).AsSpan(0, 16));
    }

    /// <summary>
    /// An IPv4 address whole; an IPv6 one by its /64, which one client holds and walks freely (as connection slots, WHIP
    /// and the green room count them): a ban "by address" and the per-address message bucket cover the whole prefix.
    /// </summary>
    private static string AddressKey(IPAddress address)
    {
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6) return address.ToString();
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    /// <summary>What other viewers see of an author: 12 hex characters, the same for every message of one viewer.</summary>
    public string AuthorTag(string viewerId)
        => Convert.ToHexStringLower(HMACSHA256.HashData(_tagKey, Encoding.UTF8.GetBytes(viewerId)).AsSpan(0, 6));

    private string Sign(string body) => Base64Url(HMACSHA256.HashData(_idKey, Encoding.ASCII.GetBytes(body)).AsSpan(0, 16));

    private static string Base64Url(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
