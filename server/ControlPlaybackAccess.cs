using Broadcast.Control.Playback;
using Broadcast.Origin;

namespace Broadcast.Server;

/// <summary>The origin's view of private playback, answered by the control plane's in-memory snapshot.</summary>
internal sealed class ControlPlaybackAccess(PlaybackAccessService access) : IPlaybackAccess
{
    public bool IsPrivate(ReadOnlySpan<char> stream) => access.IsPrivate(stream);

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        => access.Verify(stream, token, out expiresAt) == PlaybackTokenResult.Valid;

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, System.Net.IPAddress? client, out DateTimeOffset expiresAt)
    {
        bool valid = access.Verify(stream, token, client, out var grant) == PlaybackTokenResult.Valid;
        expiresAt = grant.ExpiresAt;
        return valid;
    }

    public string? ScopeOf(ReadOnlySpan<char> stream) => access.ScopeOf(stream);
}

/// <summary>
/// The origin's view of private playback on a node without the channel database: the snapshot fetched from a control
/// node. A stream withdrawn from it loses the copies this node cached of it.
/// </summary>
internal sealed class RemoteOriginPlaybackAccess : IPlaybackAccess
{
    private readonly RemotePlaybackAccess _access;

    public RemoteOriginPlaybackAccess(RemotePlaybackAccess access, RecentObjectCache? cache = null)
    {
        _access = access;
        if (cache is not null) access.Withdrawn += slug => cache.InvalidatePrefix(slug + "/");
    }

    public bool IsReady => _access.IsReady;

    public bool IsPrivate(ReadOnlySpan<char> stream) => _access.IsPrivate(stream);

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        => _access.IsAuthorized(stream, token, out expiresAt);

    public bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, System.Net.IPAddress? client, out DateTimeOffset expiresAt)
        => _access.IsAuthorized(stream, token, client, out expiresAt);

    public string? ScopeOf(ReadOnlySpan<char> stream) => _access.ScopeOf(stream);
}
