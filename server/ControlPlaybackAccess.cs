using Broadcast.Control.Playback;
using Broadcast.Origin;

namespace Broadcast.Server;

/// <summary>The origin's view of private playback, answered by the control plane's in-memory snapshot.</summary>
internal sealed class ControlPlaybackAccess(PlaybackAccessService access) : IPlaybackAccess
{
    public bool IsPrivate(ReadOnlySpan<char> stream) => access.IsPrivate(stream);

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        => access.Verify(stream, token, out expiresAt) == PlaybackTokenResult.Valid;

    public string? ScopeOf(ReadOnlySpan<char> stream) => access.ScopeOf(stream);
}
