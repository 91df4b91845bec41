using System.Security.Cryptography;

namespace Broadcast.Control.Playback;

/// <summary>An HMAC-SHA256 key that signs or verifies playback tokens, named by a short id carried in each token.</summary>
public sealed class PlaybackSigningKey
{
    public const int SecretBytes = 32;

    public PlaybackSigningKey(string id, byte[] secret)
    {
        ArgumentNullException.ThrowIfNull(id);
        ArgumentNullException.ThrowIfNull(secret);
        if (!PlaybackToken.IsKeyId(id))
        {
            throw new ArgumentException("A key id is 1-16 characters of [A-Za-z0-9_-].", nameof(id));
        }

        if (secret.Length < 16)
        {
            throw new ArgumentException("A signing key must be at least 16 bytes.", nameof(secret));
        }

        Id = id;
        Secret = (byte[])secret.Clone();
    }

    public string Id { get; }

    internal byte[] Secret { get; }

    /// <summary>A fresh random key with a random 8-character id.</summary>
    public static PlaybackSigningKey Generate()
    {
        const string Alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        return new PlaybackSigningKey(RandomNumberGenerator.GetString(Alphabet, 8), RandomNumberGenerator.GetBytes(SecretBytes));
    }

    /// <summary>Never the secret: keys may end up in a debugger or a log by accident.</summary>
    public override string ToString() => "PlaybackSigningKey " + Id;
}

/// <summary>
/// The keys in force: <see cref="Current"/> signs and verifies, <see cref="Previous"/> (the one before the last
/// rotation) only verifies, so tokens handed out before a rotation keep working until they expire. A key two
/// rotations old is gone, and tokens it signed are refused.
/// </summary>
public sealed class PlaybackKeyRing
{
    public PlaybackKeyRing(PlaybackSigningKey current, PlaybackSigningKey? previous)
    {
        ArgumentNullException.ThrowIfNull(current);
        Current = current;
        Previous = previous is not null && previous.Id != current.Id ? previous : null;
    }

    public PlaybackSigningKey Current { get; }

    public PlaybackSigningKey? Previous { get; }

    /// <summary>The key named <paramref name="id"/>, or null when it is neither current nor previous.</summary>
    public PlaybackSigningKey? Find(ReadOnlySpan<char> id)
    {
        if (id.SequenceEqual(Current.Id))
        {
            return Current;
        }

        return Previous is not null && id.SequenceEqual(Previous.Id) ? Previous : null;
    }

    /// <summary>A ring after one rotation: <paramref name="next"/> signs, the current key still verifies.</summary>
    public PlaybackKeyRing Rotate(PlaybackSigningKey next) => new(next, Current);
}
