namespace Broadcast.Origin;

/// <summary>
/// Where every stream is public (<c>Playback:PublicOnly=true</c> on an origin-only node): the edge's token check still
/// answers, with 204 for every stream.
/// </summary>
public sealed class PublicPlaybackAccess : IPlaybackAccess
{
    public static PublicPlaybackAccess Instance { get; } = new();

    public bool IsPrivate(ReadOnlySpan<char> stream) => false;

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        return false;
    }
}
