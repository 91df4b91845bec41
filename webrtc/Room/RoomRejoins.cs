namespace Broadcast.WebRtc.Room;

/// <summary>What a participant that Janus's stop took out comes back as; <paramref name="Owner"/> is the sharer of a screen share.</summary>
internal sealed record RoomRejoin(string Id, string Token, string Channel, string Display, string Source, bool IsScreen, DateTimeOffset Until,
    string? Owner);

/// <summary>
/// The participants Janus's stop took out of their rooms, by token, each until its hold ends: their pages rejoin by themselves
/// while the show keeps their places, as the same participant (id, name, token, the sharer of a share).
/// </summary>
internal sealed class RoomRejoins(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RoomRejoin> _byToken = new(StringComparer.Ordinal);

    public void Keep(RoomRejoin rejoin)
    {
        lock (_gate) _byToken[rejoin.Token] = rejoin;
    }

    /// <summary>What <paramref name="token"/> rejoins <paramref name="channel"/>'s room as, or null; holds that ended are forgotten first.</summary>
    public RoomRejoin? Find(string channel, string token)
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            foreach (var expired in _byToken.Where(r => r.Value.Until <= now).Select(r => r.Key).ToList()) _byToken.Remove(expired);
            return _byToken.TryGetValue(token, out var rejoin) && rejoin.Channel == channel ? rejoin : null;
        }
    }

    /// <summary>The rejoin with <paramref name="token"/> succeeded: the token rejoins no more.</summary>
    public void Used(string token)
    {
        lock (_gate) _byToken.Remove(token);
    }
}
