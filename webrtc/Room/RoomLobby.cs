using System.Net;
using Broadcast.Network;
using Broadcast.Refusals;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Room;

/// <summary>Where a guest's request to join stands.</summary>
public enum KnockState
{
    /// <summary>In the green room: a host has not answered yet.</summary>
    Waiting,

    /// <summary>A host admitted the guest: its grant publishes into the room once.</summary>
    Admitted,

    /// <summary>A host said no (or banned the guest).</summary>
    Refused,

    /// <summary>Nobody answered in time, or the grant went unused.</summary>
    Expired,
}

/// <summary>A guest's request to join a room, for the hosts' list.</summary>
public sealed record KnockInfo(string Id, string Name, bool Invited, KnockState State, DateTimeOffset At);

/// <summary>A knock as its guest polls it: the state and, once admitted, the one-use grant to publish with.</summary>
public sealed record KnockStatus(KnockState State, string? Grant);

/// <summary>An invite a host made: the token for the guest's link and when it stops working.</summary>
public sealed record RoomInvite(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// The green room of this node's rooms. A guest asks to join (a "knock") from the join page, either with a host's invite
/// (expiring, used once) or by "Request to join" from the watch page; hosts see the knocks and admit or refuse them;
/// an admitted guest gets a grant that publishes into the room once. Nobody publishes into a room without a host's
/// admission, a stream key (WHIP) or a host's own session. A ban refuses the guest's address for the room from then on.
/// Bounded: knocks per room and per address, each knock's and grant's lifetime.
/// </summary>
public sealed partial class RoomLobby(IOptions<RoomOptions> options, ILogger<RoomLobby> logger, TimeProvider? time = null)
{
    /// <summary>Knocks without an invite a room holds at once (waiting or admitted).</summary>
    public const int MaxKnocksPerRoom = 20;

    /// <summary>
    /// Knocks with a host's invite a room holds at once: a quota of their own, so that strangers filling the green room
    /// (seven address prefixes at <see cref="MaxKnocksPerAddress"/> each) never keep out the guests the hosts invited.
    /// Invites are made by hosts and good for one knock, so these are bounded by the hosts themselves.
    /// </summary>
    public const int MaxInvitedKnocksPerRoom = 50;

    /// <summary>Knocks without an invite one address holds at once across rooms (an invited knock does not count).</summary>
    public const int MaxKnocksPerAddress = 3;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly RoomOptions _options = options.Value;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Request> _knocks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Channel, DateTimeOffset ExpiresAt)> _invites = new(StringComparer.Ordinal);
    // Addresses by ClientAddressSlots.Bucket (IPv4 whole, IPv6 by its /64), as WHEP and chat count them: a client cannot
    // step around its limit or its ban with the next address of its own /64.
    private readonly HashSet<(string Channel, UInt128 Address)> _banned = [];

    /// <summary>A host's invite for <paramref name="channel"/>'s room: expiring, good for one knock.</summary>
    public RoomInvite Invite(string channel)
    {
        var invite = new RoomInvite(NewSecret(), _time.GetUtcNow() + _options.InviteLifetime);
        lock (_gate)
        {
            Sweep();
            _invites[invite.Token] = (channel, invite.ExpiresAt);
        }

        LogInvited(channel, _options.InviteLifetime.TotalMinutes);
        return invite;
    }

    /// <summary>
    /// A guest at <paramref name="client"/> knocks: asks to join <paramref name="channel"/>'s room as <paramref name="name"/>, with an
    /// invite or none. Returns the knock's id and the secret its guest polls with; throws <see cref="Refusal"/>.
    /// </summary>
    public (string Id, string Secret) Ask(string channel, string name, string? inviteToken, IPAddress? client)
    {
        name = RoomService.Display(name);
        UInt128? address = client is null ? null : ClientAddressSlots.Bucket(client);
        lock (_gate)
        {
            Sweep();
            if (address is { } banned && _banned.Contains((channel, banned))) throw WebRtc.Refuse.Forbidden("the hosts of this room have banned you");
            bool invited = false;
            if (!string.IsNullOrEmpty(inviteToken))
            {
                if (!_invites.TryGetValue(inviteToken, out var invite) || invite.Channel != channel)
                    throw WebRtc.Refuse.Forbidden("this invite is not valid for this room (expired, used, or for another room)");
                invited = true;
            }

            if (invited)
            {
                if (_knocks.Values.Count(k => k.Channel == channel && k.Invited && k.State is KnockState.Waiting or KnockState.Admitted)
                    >= MaxInvitedKnocksPerRoom)
                    throw WebRtc.Refuse.TooMany("this room's green room is full of invited guests; try again later");
            }
            else
            {
                if (_knocks.Values.Count(k => k.Channel == channel && !k.Invited && k.State is KnockState.Waiting or KnockState.Admitted)
                    >= MaxKnocksPerRoom)
                    throw WebRtc.Refuse.TooMany("this room's green room is full; try again later");
                if (address is not null && _knocks.Values.Count(k => k.Client == address && !k.Invited
                    && k.State is KnockState.Waiting or KnockState.Admitted) >= MaxKnocksPerAddress)
                    throw WebRtc.Refuse.TooMany("this address already waits to join; try again later");
            }
            if (invited) _invites.Remove(inviteToken!);
            var knock = new Request(NewId(), NewSecret(), channel, name, invited, address, _time.GetUtcNow());
            _knocks[knock.Id] = knock;
            LogKnocked(channel, knock.Id, name, invited);
            return (knock.Id, knock.Secret);
        }
    }

    /// <summary>Whether <paramref name="inviteToken"/> is a standing invite to <paramref name="channel"/>'s room
    /// (it is not used up by asking).</summary>
    public bool IsInvite(string channel, string? inviteToken)
    {
        if (string.IsNullOrEmpty(inviteToken)) return false;
        lock (_gate)
        {
            Sweep();
            return _invites.TryGetValue(inviteToken, out var invite) && invite.Channel == channel;
        }
    }

    /// <summary>The knock's state for its guest (who proves it with the knock's secret); null when there is none.</summary>
    public KnockStatus? Status(string channel, string id, string secret)
    {
        lock (_gate)
        {
            Sweep();
            if (!_knocks.TryGetValue(id, out var knock) || knock.Channel != channel
                || !BearerSecret.Same(knock.Secret, secret))
                return null;
            knock.LastPolled = _time.GetUtcNow();
            return new KnockStatus(knock.State, knock.State == KnockState.Admitted ? knock.Grant : null);
        }
    }

    /// <summary>The room's knocks for its hosts, oldest first.</summary>
    public IReadOnlyList<KnockInfo> Knocks(string channel)
    {
        lock (_gate)
        {
            Sweep();
            return [.. _knocks.Values.Where(k => k.Channel == channel).OrderBy(k => k.At).Select(k => new KnockInfo(k.Id, k.Name, k.Invited, k.State,
                k.At))];
        }
    }

    /// <summary>A host admits a waiting guest: its grant works for <see cref="RoomOptions.GrantLifetime"/>. False when there is no such waiting
    /// knock.</summary>
    public bool Admit(string channel, string id)
    {
        lock (_gate)
        {
            if (!_knocks.TryGetValue(id, out var knock) || knock.Channel != channel || knock.State != KnockState.Waiting) return false;
            knock.State = KnockState.Admitted;
            knock.Grant = NewSecret();
            knock.AnsweredAt = _time.GetUtcNow();
            LogAnswered(channel, id, "admitted");
            return true;
        }
    }

    /// <summary>A host refuses a guest (and with <paramref name="ban"/> its address from the room). False when there is no such knock.</summary>
    public bool Refuse(string channel, string id, bool ban)
    {
        lock (_gate)
        {
            if (!_knocks.TryGetValue(id, out var knock) || knock.Channel != channel) return false;
            knock.State = KnockState.Refused;
            knock.Grant = null;
            knock.AnsweredAt = _time.GetUtcNow();
            if (ban && knock.Client is { } address) _banned.Add((channel, address));
            LogAnswered(channel, id, ban ? "refused and banned" : "refused");
            return true;
        }
    }

    /// <summary>Bans <paramref name="client"/> from <paramref name="channel"/>'s room (a host removed a participant for good).</summary>
    public void Ban(string channel, IPAddress? client)
    {
        if (client is null) return;
        lock (_gate) _banned.Add((channel, ClientAddressSlots.Bucket(client)));
    }

    /// <summary>Uses an admitted guest's grant (once): its knock's name, or null when the grant is not good for this room now.</summary>
    public string? Redeem(string channel, string grant, IPAddress? client)
    {
        lock (_gate)
        {
            Sweep();
            if (client is not null && _banned.Contains((channel, ClientAddressSlots.Bucket(client)))) return null;
            var knock = _knocks.Values.FirstOrDefault(k => k.Channel == channel && k.State == KnockState.Admitted && k.Grant is { } g
                && BearerSecret.Same(g, grant));
            if (knock is null) return null;
            _knocks.Remove(knock.Id);
            return knock.Name;
        }
    }

    /// <summary>Drops what has run out: invites past their time, knocks nobody polls or answers, grants unused.</summary>
    private void Sweep()
    {
        var now = _time.GetUtcNow();
        foreach (var token in _invites.Where(i => i.Value.ExpiresAt <= now).Select(i => i.Key).ToList()) _invites.Remove(token);
        foreach (var knock in _knocks.Values.ToList())
        {
            bool abandoned = knock.State == KnockState.Waiting && now - knock.LastPolled > _options.KnockPollTimeout;
            bool unanswered = knock.State == KnockState.Waiting && now - knock.At > _options.KnockLifetime;
            bool unused = knock.State == KnockState.Admitted && now - knock.AnsweredAt > _options.GrantLifetime;
            bool answeredLongAgo = knock.State is KnockState.Refused or KnockState.Expired && now - knock.AnsweredAt > _options.KnockLifetime;
            if (abandoned || unanswered || unused)
            {
                knock.State = KnockState.Expired;
                knock.Grant = null;
                knock.AnsweredAt = now;
            }
            else if (answeredLongAgo)
            {
                _knocks.Remove(knock.Id);
            }
        }
    }

    private static string NewId() => RandomTokens.New(12);

    private static string NewSecret() => RandomTokens.New(24);

    private sealed class Request(string id, string secret, string channel, string name, bool invited, UInt128? client, DateTimeOffset at)
    {
        public string Id { get; } = id;

        public string Secret { get; } = secret;

        public string Channel { get; } = channel;

        public string Name { get; } = name;

        public bool Invited { get; } = invited;

        /// <summary>The asking client's address bucket, or null when it had no address.</summary>
        public UInt128? Client { get; } = client;

        public DateTimeOffset At { get; } = at;

        public DateTimeOffset LastPolled { get; set; } = at;

        public DateTimeOffset AnsweredAt { get; set; } = at;

        public KnockState State { get; set; } = KnockState.Waiting;

        public string? Grant { get; set; }
    }

    [LoggerMessage(EventId = 8311, Level = LogLevel.Information, Message = "Room {Channel}: an invite was made, good for {Minutes} min")]
    private partial void LogInvited(string channel, double minutes);

    [LoggerMessage(EventId = 8312, Level = LogLevel.Information, Message = "Room {Channel}: {KnockId} ({Name}) asks to join, invited {Invited}")]
    private partial void LogKnocked(string channel, string knockId, string name, bool invited);

    [LoggerMessage(EventId = 8313, Level = LogLevel.Information, Message = "Room {Channel}: {KnockId} {Answer}")]
    private partial void LogAnswered(string channel, string knockId, string answer);
}
