using System.Net;
using Broadcast.Network;
using Broadcast.WebRtc.Janus;

namespace Broadcast.WebRtc.Room;

/// <summary>One channel's room on this node: its VideoRoom on the running Janus and its participants in the order they joined.</summary>
internal sealed class ChannelRoom(string channel, int maxParticipants, string videoCodecs, int maxBitrate)
{
    public string Channel { get; } = channel;

    /// <summary>One join or leave at a time: the show sees each membership in order.</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Changed under <see cref="Gate"/> and the roster's lock; read under either.</summary>
    public List<RoomParticipant> Participants { get; } = [];

    public IJanusSession? Janus { get; private set; }

    public long JanusRoomId { get; private set; }

    /// <summary>The room's Janus id on <paramref name="janus"/>: created there on its first participant (a restarted Janus has no rooms).</summary>
    public async Task<long> EnsureOnAsync(IJanusSession janus, CancellationToken cancellationToken)
    {
        if (Janus == janus) return JanusRoomId;
        long roomId = await VideoRoomRequests.CreateRoomAsync(janus, Channel, maxParticipants, videoCodecs, maxBitrate, cancellationToken)
            .ConfigureAwait(false);
        Janus = janus;
        JanusRoomId = roomId;
        return roomId;
    }
}

/// <summary>A participant of a room: who, how it publishes on Janus, and <paramref name="Owner"/>, the sharer of a screen share.</summary>
internal sealed record RoomParticipant(string Id, string Token, string Channel, string Display, string Source, bool IsScreen, IJanusSession Janus,
    long JanusRoomId, long Handle, long PublisherId, string VideoCodec, string VideoMid, string? AudioMid, IPAddress? Client, DateTimeOffset JoinedAt,
    string? Owner)
{
    public volatile bool Connected;

    public volatile bool Muted;
}

/// <summary>
/// Who is in which room on this node: the rooms by channel and their participants, found by id, by token, or by the Janus
/// handle that publishes them. One lock for all of it; each room's own gate orders its joins and leaves.
/// </summary>
internal sealed class RoomRoster(RoomOptions options)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ChannelRoom> _rooms = new(StringComparer.Ordinal);
    // The participants by the VideoRoom handle that publishes them, changed with the rooms under _gate.
    private readonly JanusHandles<RoomParticipant> _handles = new();

    /// <summary><paramref name="channel"/>'s room, made on its first use.</summary>
    public ChannelRoom Open(string channel)
    {
        lock (_gate)
        {
            if (!_rooms.TryGetValue(channel, out var room))
            {
                room = new ChannelRoom(channel, options.MaxParticipants, options.VideoCodecs, options.MaxBitrate);
                _rooms[channel] = room;
            }

            return room;
        }
    }

    public ChannelRoom? Find(string channel)
    {
        lock (_gate) return _rooms.GetValueOrDefault(channel);
    }

    /// <summary>Adds a participant to <paramref name="room"/>; the caller holds the room's gate.</summary>
    public void Add(ChannelRoom room, RoomParticipant participant)
    {
        lock (_gate)
        {
            room.Participants.Add(participant);
            _handles.Track(participant.Janus, participant.Handle, participant);
        }
    }

    /// <summary>Takes a participant out of <paramref name="room"/>; the caller holds the room's gate.</summary>
    public void Remove(ChannelRoom room, RoomParticipant participant)
    {
        lock (_gate)
        {
            room.Participants.Remove(participant);
            _handles.Forget(participant.Janus, participant.Handle);
        }
    }

    /// <summary>The participants of <paramref name="channel"/>'s room now, in the order they joined.</summary>
    public List<RoomParticipant> In(string channel)
    {
        lock (_gate) return _rooms.TryGetValue(channel, out var room) ? [.. room.Participants] : [];
    }

    public RoomParticipant? FindById(string channel, string id)
    {
        lock (_gate) return _rooms.TryGetValue(channel, out var room) ? room.Participants.FirstOrDefault(p => p.Id == id) : null;
    }

    public RoomParticipant? FindByToken(string channel, string token)
    {
        lock (_gate)
        {
            return _rooms.TryGetValue(channel, out var room) ? room.Participants.FirstOrDefault(p => BearerSecret.Same(p.Token, token)) : null;
        }
    }

    /// <summary>The participant <paramref name="handle"/> of <paramref name="janus"/> publishes, or null (a subscriber's, or gone).</summary>
    public RoomParticipant? FindByHandle(IJanusSession janus, long handle)
    {
        return _handles.Find(janus, handle);
    }

    /// <summary>Janus <paramref name="janus"/> is gone: every participant that published on it (still in its room until taken out).</summary>
    public List<RoomParticipant> LostWith(IJanusSession janus)
    {
        lock (_gate) return _handles.ForgetAllOf(janus);
    }

    public List<RoomParticipant> All()
    {
        lock (_gate) return [.. _rooms.Values.SelectMany(r => r.Participants)];
    }
}
