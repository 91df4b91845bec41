using System.Net;
using Broadcast.Refusals;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Room;
using Broadcast.WebRtc.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// The room's own rules, through the fake Janus (<see cref="FakeJanus"/>) and a show that records what it is told:
/// admission and its refusals, the room's cap, a host's removal and ban, the rejoin after a Janus crash, a participant that
/// never connects, moderation and subscriptions. The real Janus plays the same rooms end to end (<c>RoomStudioTests</c>, <c>RoomWhipTests</c>).
/// </summary>
public sealed class RoomServiceTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);
    private static readonly IPAddress Guest = IPAddress.Parse("2001:db8:5:6::7");

    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 20, 0, 0, TimeSpan.Zero));
    private readonly FakeJanus _janus = new();
    private readonly RecordingShow _show = new();
    private readonly RoomOptions _options = new() { MaxParticipants = 2 };
    private readonly RoomService _rooms;

    public RoomServiceTests() => _rooms = new RoomService(_janus, _show, Options.Create(_options), NullLogger<RoomService>.Instance, _clock);

    /// <summary>A browser's camera offer as the room takes it: VP8 video and Opus audio, both sent.</summary>
    internal const string CameraOffer =
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"
        + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n"
        + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n";

    private const string SubscriberAnswer =
        "v=0\r\no=- 3 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:v0\r\na=recvonly\r\n"
        + "a=rtpmap:96 VP8/90000\r\n";

    [Fact]
    public async Task A_janus_transport_fault_mid_join_is_a_502_not_a_500()
    {
        using var http = new HttpClient(new FaultyJanusHttp(JanusTransportFault.NotJson));
        await using var session = await Broadcast.WebRtc.Janus.JanusSession.CreateAsync(http, new Uri("http://127.0.0.1:8088/janus/"), "secret",
            CancellationToken.None);
        _janus.SessionOverride = session;

        Assert.Equal(RefusalKind.EngineFailed, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("talk", "Ann", "studio", isScreen: false, CameraOffer, Guest, CancellationToken.None))).Kind);
        Assert.Empty(_rooms.Participants("talk"));
    }

    [Fact]
    public async Task A_participant_joins_with_janus_answer_and_its_media_goes_to_the_place_the_show_gives_it()
    {
        var answer = await _rooms.JoinAsync("talk", " Ann\u0007 ", "studio", isScreen: false, CameraOffer, Guest, CancellationToken.None);

        Assert.Contains("a=rtpmap:96 VP8/90000", answer.Sdp, StringComparison.Ordinal);
        var participant = Assert.Single(_rooms.Participants("talk"));
        Assert.Equal((answer.Id, "Ann", "studio", "VP8", true, false), (participant.Id, participant.Display, participant.Source, participant.VideoCodec,
            participant.HasAudio, participant.Connected));
        Assert.NotEqual(answer.Id, answer.Token);
        Assert.Equal(answer.Id, _rooms.ParticipantOf("talk", answer.Token));
        Assert.Equal(Guest, _rooms.AddressOf("talk", answer.Id));

        // One private room created on Janus, the publisher joined to it, and its two streams forwarded where the show said.
        var create = Assert.Single(_janus.RequestsNamed("create"));
        Assert.Equal(("fake-admin-key", true, 2), ((string?)create.Body["admin_key"], (bool?)create.Body["is_private"], (int?)create.Body["publishers"]));
        var join = Assert.Single(_janus.RequestsNamed("joinandconfigure"));
        Assert.Equal((long?)create.Body["room"], (long?)join.Body["room"]);
        var forward = Assert.Single(_janus.RequestsNamed("rtp_forward"));
        var target = _show.TargetOf(answer.Id);
        var streams = forward.Body["streams"]!.AsArray().Select(s => ((string?)s!["mid"], (int?)s["port"], (int?)s["pt"])).ToList();
        Assert.Equal([("1", target.VideoPort, target.VideoPayloadType), ("0", target.AudioPort, target.AudioPayloadType)], streams);
        Assert.Equal([answer.Id], _show.Memberships[^1]);

        _janus.Up(join.Handle);
        Assert.True(Assert.Single(_rooms.Participants("talk")).Connected);

        // A second participant joins the same Janus room; the show sees both, in the order they joined.
        var second = await _rooms.JoinAsync("talk", "Bob", "guest", isScreen: false, CameraOffer, IPAddress.Loopback, CancellationToken.None);
        Assert.Single(_janus.RequestsNamed("create"));
        Assert.Equal([answer.Id, second.Id], _show.Memberships[^1]);
    }

    [Fact]
    public async Task A_full_room_an_offer_without_video_and_a_refusing_janus_are_refused_and_leave_nothing_behind()
    {
        await _rooms.JoinAsync("talk", "Ann", "studio", false, CameraOffer, Guest, CancellationToken.None);
        await _rooms.JoinAsync("talk", "Bob", "guest", false, CameraOffer, Guest, CancellationToken.None);
        int memberships = _show.Memberships.Count;

        var full = await Assert.ThrowsAsync<Refusal>(() => _rooms.JoinAsync("talk", "Cy", "guest", false, CameraOffer, Guest, CancellationToken.None));
        Assert.Equal(RefusalKind.Conflict, full.Kind);
        Assert.Equal(2, _rooms.Participants("talk").Count);
        Assert.Equal(memberships, _show.Memberships.Count);

        string audioOnly = CameraOffer[..CameraOffer.IndexOf("m=video", StringComparison.Ordinal)];
        Assert.Equal(RefusalKind.Invalid, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("quiet", "Dee", "guest", false, audioOnly, Guest, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.Invalid, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("quiet", "Dee", "guest", false, "not sdp", Guest, CancellationToken.None))).Kind);

        // Janus refuses the publisher: a 502, its handle detached, the room as it was.
        _janus.Refuse("joinandconfigure");
        Assert.Equal(RefusalKind.EngineFailed, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("other", "Eve", "guest", false, CameraOffer, Guest, CancellationToken.None))).Kind);
        Assert.Empty(_rooms.Participants("other"));
        var refused = _janus.RequestsNamed("joinandconfigure")[^1];
        Assert.Contains(refused.Handle, _janus.Current!.Detached);

        // Janus forwards nothing: the participant the show was told of is taken out again.
        _janus.Accept("joinandconfigure");
        _janus.Refuse("rtp_forward");
        Assert.Equal(RefusalKind.EngineFailed, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("other", "Eve", "guest", false, CameraOffer, Guest, CancellationToken.None))).Kind);
        Assert.Empty(_rooms.Participants("other"));
        Assert.Empty(_show.Memberships[^1]);

        // Janus does not come up: 503; a node with Janus off: 503 before anything.
        _janus.Down = true;
        Assert.Equal(RefusalKind.Unavailable, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("other", "Eve", "guest", false, CameraOffer, Guest, CancellationToken.None))).Kind);
        _janus.Enabled = false;
        Assert.Equal(RefusalKind.Unavailable, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("other", "Eve", "guest", false, CameraOffer, Guest, CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task A_show_that_cannot_take_the_room_refuses_the_participant_with_its_reason()
    {
        _show.RefuseWith = "channel talk is on air from an encoder";
        var refusal = await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.JoinAsync("talk", "Ann", "studio", false, CameraOffer, Guest, CancellationToken.None));
        Assert.Equal((RefusalKind.Conflict, "channel talk is on air from an encoder"), (refusal.Kind, refusal.Message));
        Assert.Empty(_rooms.Participants("talk"));
        Assert.Empty(_janus.RequestsNamed("rtp_forward"));
        Assert.DoesNotContain(_janus.Current!.Handles, h => h.Value == Janus.VideoRoomRequests.Plugin);
    }

    [Fact]
    public async Task A_host_removes_and_bans_a_participant_its_screen_share_goes_with_it_and_the_lobby_refuses_its_address()
    {
        var ann = await _rooms.JoinAsync("talk", "Ann", "guest", false, CameraOffer, Guest, CancellationToken.None);
        var screen = await _rooms.ShareScreenAsync("talk", ann.Token, CameraOffer, Guest, CancellationToken.None);
        Assert.Equal(RefusalKind.Conflict, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.ShareScreenAsync("talk", ann.Token, CameraOffer, Guest, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.Forbidden, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.ShareScreenAsync("talk", "not-a-token", CameraOffer, Guest, CancellationToken.None))).Kind);
        var shared = _rooms.Participants("talk").Single(p => p.Id == screen.Id);
        Assert.Equal(("Ann (screen)", true, ann.Id), (shared.Display, shared.IsScreen, shared.SharedBy));
        var handles = _janus.RequestsNamed("joinandconfigure").Select(r => r.Handle).ToList();

        // As the host's DELETE ?ban=true does: the address first, then the removal, then the ban in the lobby.
        var lobby = new RoomLobby(Options.Create(_options), NullLogger<RoomLobby>.Instance, _clock);
        var address = _rooms.AddressOf("talk", ann.Id);
        Assert.True(await _rooms.RemoveAsync("talk", ann.Id, "removed and banned by a host"));
        lobby.Ban("talk", address);

        Assert.Empty(_rooms.Participants("talk"));
        Assert.Empty(_show.Memberships[^1]);
        Assert.All(handles, handle => Assert.Contains(handle, _janus.Current!.Detached));
        Assert.Null(_rooms.ParticipantOf("talk", ann.Token));
        Assert.False(await _rooms.RemoveAsync("talk", ann.Id, "again"));
        Assert.Equal(RefusalKind.Forbidden, Assert.Throws<Refusal>(() => lobby.Ask("talk", "Ann again", null, IPAddress.Parse("2001:db8:5:6::8"))).Kind);
    }

    [Fact]
    public async Task After_a_janus_crash_each_participant_rejoins_with_its_token_as_itself_into_a_new_janus_room()
    {
        var ann = await _rooms.JoinAsync("talk", "Ann", "studio", false, CameraOffer, Guest, CancellationToken.None);
        var bob = await _rooms.JoinAsync("talk", "Bob", "guest", false, CameraOffer, Guest, CancellationToken.None);
        var crashed = _janus.Current!;

        _janus.Crash();
        await WaitFor.ConditionAsync(() => _rooms.Participants("talk").Count == 0, Bound, "the crash to take the participants out");
        Assert.Empty(_show.Memberships[^1]);
        // Nothing is detached on a Janus that is gone: its handles went with it.
        Assert.All(_janus.RequestsNamed("joinandconfigure"), join => Assert.DoesNotContain(join.Handle, crashed.Detached));

        Assert.Equal(RefusalKind.Unauthorized, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.RejoinAsync("talk", "made-up", CameraOffer, Guest, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.Unauthorized, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.RejoinAsync("other", ann.Token, CameraOffer, Guest, CancellationToken.None))).Kind);

        // A rejoin Janus refuses may be tried again with the same token.
        _janus.Refuse("joinandconfigure");
        Assert.Equal(RefusalKind.EngineFailed, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.RejoinAsync("talk", ann.Token, CameraOffer, Guest, CancellationToken.None))).Kind);
        _janus.Accept("joinandconfigure");

        var back = await _rooms.RejoinAsync("talk", ann.Token, CameraOffer, Guest, CancellationToken.None);
        Assert.Equal((ann.Id, ann.Token), (back.Id, back.Token));
        Assert.Equal("Ann", Assert.Single(_rooms.Participants("talk")).Display);
        Assert.Equal(2, _janus.Runs);
        var rooms = _janus.RequestsNamed("create");
        Assert.Equal(2, rooms.Count);
        Assert.Equal(_janus.Current!.Id, rooms[^1].Session);
        Assert.NotEqual(rooms[0].Session, rooms[^1].Session);

        // The token works once; the hold ends for those that did not come back.
        Assert.Equal(RefusalKind.Unauthorized, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.RejoinAsync("talk", ann.Token, CameraOffer, Guest, CancellationToken.None))).Kind);
        _clock.Advance(_options.EmptyHold + TimeSpan.FromSeconds(1));
        Assert.Equal(RefusalKind.Unauthorized, (await Assert.ThrowsAsync<Refusal>(() =>
            _rooms.RejoinAsync("talk", bob.Token, CameraOffer, Guest, CancellationToken.None))).Kind);
    }

    [Fact]
    public async Task A_participant_that_never_connects_frees_its_place_and_one_whose_connection_ends_leaves()
    {
        var ann = await _rooms.JoinAsync("talk", "Ann", "studio", false, CameraOffer, Guest, CancellationToken.None);
        var bob = await _rooms.JoinAsync("talk", "Bob", "guest", false, CameraOffer, Guest, CancellationToken.None);
        var joins = _janus.RequestsNamed("joinandconfigure");
        _janus.Up(joins[0].Handle);

        _clock.Advance(_options.ConnectTimeout);
        await WaitFor.ConditionAsync(() => _rooms.Participants("talk").Count == 1, Bound, "the unconnected participant to leave");
        Assert.Equal(ann.Id, Assert.Single(_rooms.Participants("talk")).Id);
        Assert.Contains(joins[1].Handle, _janus.Current!.Detached);
        Assert.Null(_rooms.ParticipantOf("talk", bob.Token));

        _janus.HangUp(joins[0].Handle);
        await WaitFor.ConditionAsync(() => _rooms.Participants("talk").Count == 0, Bound, "the hung-up participant to leave");
        Assert.Empty(_show.Memberships[^1]);
    }

    [Fact]
    public async Task A_host_mutes_through_janus_moderation_and_a_participant_subscribes_to_another()
    {
        var ann = await _rooms.JoinAsync("talk", "Ann", "studio", false, CameraOffer, Guest, CancellationToken.None);
        var bob = await _rooms.JoinAsync("talk", "Bob", "guest", false, CameraOffer, Guest, CancellationToken.None);

        Assert.True(await _rooms.MuteAsync("talk", bob.Id, true, CancellationToken.None));
        var moderate = Assert.Single(_janus.RequestsNamed("moderate"));
        Assert.Equal(("0", true), ((string?)moderate.Body["mid"], (bool?)moderate.Body["mute"]));
        Assert.True(_rooms.Participants("talk").Single(p => p.Id == bob.Id).Muted);
        Assert.False(await _rooms.MuteAsync("talk", "nobody", true, CancellationToken.None));

        var offer = await _rooms.SubscribeAsync("talk", ann.Token, bob.Id, CancellationToken.None);
        Assert.StartsWith("v=0", offer.Sdp, StringComparison.Ordinal);
        var join = Assert.Single(_janus.RequestsNamed("join"));
        Assert.Equal("subscriber", (string?)join.Body["ptype"]);
        Assert.False(await _rooms.AnswerAsync("talk", bob.Token, offer.Id, SubscriberAnswer, CancellationToken.None));
        Assert.True(await _rooms.AnswerAsync("talk", ann.Token, offer.Id, SubscriberAnswer, CancellationToken.None));
        Assert.Equal("answer", (string?)Assert.Single(_janus.RequestsNamed("start")).Jsep!["type"]);

        Assert.Equal(RefusalKind.Invalid, (await Assert.ThrowsAsync<Refusal>(() => _rooms.SubscribeAsync("talk", ann.Token, ann.Id, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.Forbidden, (await Assert.ThrowsAsync<Refusal>(() => _rooms.SubscribeAsync("talk", "nope", bob.Id, CancellationToken.None))).Kind);
        Assert.Equal(RefusalKind.NotFound, (await Assert.ThrowsAsync<Refusal>(() => _rooms.SubscribeAsync("talk", ann.Token, "gone", CancellationToken.None))).Kind);

        // Bob leaves: Ann's subscription to him ends with him.
        Assert.True(await _rooms.LeaveAsync("talk", bob.Token, "left"));
        Assert.Contains(join.Handle, _janus.Current!.Detached);
    }

    public async ValueTask DisposeAsync() => await _rooms.DisposeAsync();

    /// <summary>A show that gives each participant its own ports and payload types, records every membership, and can refuse.</summary>
    internal sealed class RecordingShow : IRoomShow
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<string, RoomRtpTarget> _targets = new(StringComparer.Ordinal);
        private readonly List<IReadOnlyList<string>> _memberships = [];
        private int _nextPort = 30000;

        public string? RefuseWith { get; set; }

        public IReadOnlyList<IReadOnlyList<string>> Memberships
        {
            get
            {
                lock (_gate) return [.. _memberships];
            }
        }

        public RoomRtpTarget TargetOf(string participantId)
        {
            lock (_gate) return _targets[participantId];
        }

        public Task<IReadOnlyDictionary<string, RoomRtpTarget>> ShowAsync(string channel, IReadOnlyList<RoomFeed> participants,
            CancellationToken cancellationToken)
        {
            if (RefuseWith is { } reason && participants.Count > 0) throw new RoomShowRefusedException(reason);
            lock (_gate)
            {
                _memberships.Add([.. participants.Select(p => p.ParticipantId)]);
                foreach (var participant in participants)
                {
                    if (_targets.ContainsKey(participant.ParticipantId)) continue;
                    _targets[participant.ParticipantId] = new RoomRtpTarget(_nextPort, _nextPort + 2, 96 + (_nextPort % 7), 111);
                    _nextPort += 4;
                }

                return Task.FromResult<IReadOnlyDictionary<string, RoomRtpTarget>>(new Dictionary<string, RoomRtpTarget>(_targets));
            }
        }

        public Task<bool> ChooseLayoutAsync(string channel, string kind, IReadOnlyList<string> participantIds, CancellationToken cancellationToken) =>
            Task.FromResult(false);
    }
}
