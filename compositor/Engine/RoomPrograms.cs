using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// A participant of a room as its program takes it: what its RTP carries, how to ask it for a keyframe, and the name its
/// place's placeholder shows while its picture is missing.
/// </summary>
public sealed record RoomMember(string Id, string VideoCodec, bool HasAudio, bool IsScreen, Action RequestKeyframe, string? Display = null);

/// <summary>Where a room member's RTP goes: the loopback ports of its place in the program.</summary>
public readonly record struct RtpPorts(int VideoPort, int AudioPort);

/// <summary>The room's channel runs a program that is not the room's (one applied through the API): the room cannot take it over.</summary>
public sealed class RoomProgramConflictException(string message) : Exception(message);

/// <summary>
/// The programs that follow rooms: a room's channel runs a program of <see cref="Places"/> RTP inputs (<c>room1</c>…),
/// started with the room's first member. Each member keeps its place for as long as it stays, and finds it again when it
/// comes back while the program runs (after a media server restart); a joining or leaving
/// member never restarts another's decoder, and the program never restarts: one broadcast for the whole show); the
/// layout follows the membership (<see cref="RoomLayout"/>) with a short fade. An emptied room holds its program, its
/// places drawn as placeholders, for the hold time (a crashed media server's participants come back), then stops it.
/// </summary>
public sealed partial class RoomPrograms(ProgramHost host, TimeSpan emptyHold, ILogger logger, TimeProvider? time = null) : IAsyncDisposable
{
    public const int Places = LayoutPlanner.MaxGridInputs;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, RoomState> _rooms = new(StringComparer.Ordinal);

    /// <summary>The input id of place <paramref name="index"/> (0-based).</summary>
    public static string PlaceId(int index) => $"room{index + 1}";

    /// <summary>
    /// The room of <paramref name="channel"/> now has <paramref name="members"/> (join order): starts its program on the first,
    /// places new members, frees the places of those gone, applies the room's layout. Returns each member's ports. The program
    /// that starts publishes with <paramref name="ticket"/>, the publish gate's leave for the channel, which the caller asks
    /// for when members come and the host runs no program of the channel.
    /// </summary>
    /// <exception cref="RoomProgramConflictException">The channel runs a program applied through the API.</exception>
    /// <exception cref="ProgramChannelOnAirException">The channel is on air from an encoder.</exception>
    /// <exception cref="RoomProgramConflictException">More members than places.</exception>
    public async Task<IReadOnlyDictionary<string, RtpPorts>> UpdateAsync(string channel, IReadOnlyList<RoomMember> members, PublishTicket? ticket,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count > Places) throw new RoomProgramConflictException($"a room's program has {Places} places");
        RoomState state;
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(channel, out state!)) _rooms[channel] = state = new RoomState();
        }

        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            state.Generation++;
            // The host says whose the channel's program is: an API program keeps the room off air; none (or one ended from
            // outside) starts the room afresh.
            if (host.Find(channel, ProgramOwner.Api) is not null)
                throw new RoomProgramConflictException(ProgramOwnedException.MessageFor(ProgramOwner.Api));
            if (host.Find(channel, ProgramOwner.Room) is null) state.Reset();

            var placed = Place(state, members);
            state.Members = [.. members];
            if (members.Count == 0)
            {
                if (state.Engine is { } engine) Feed(state, engine, placed);
                _ = StopWhenStillEmptyAsync(channel, state, state.Generation);
                return new Dictionary<string, RtpPorts>();
            }

            var layout = OverrideFor(state, members, placed) ?? AutoLayout(placed);
            if (state.Engine is null)
            {
                var inputs = Enumerable.Range(0, Places).Select(i => ProgramInputSource.RtpSlot(PlaceId(i))).ToList();
                try
                {
                    state.Engine = await host.ApplyAsync(channel, ProgramOwner.Room, inputs, layout, new Dictionary<string, Audio.MixSettings>(),
                        LayoutTransition.Cut, ticket, cancellationToken).ConfigureAwait(false);
                }
                catch (ProgramOwnedException e)
                {
                    throw new RoomProgramConflictException(e.Message);
                }
                LogStarted(channel);
                await NamePlacesAsync(channel, state.Engine, placed, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // Names first (a cut to the same picture), then the layout's fade, so the fade is not cut short.
                await NamePlacesAsync(channel, state.Engine, placed, cancellationToken).ConfigureAwait(false);
                state.Engine.Apply(layout, null, LayoutTransition.Fade);
            }

            Feed(state, state.Engine, placed);
            var ports = new Dictionary<string, RtpPorts>(StringComparer.Ordinal);
            for (int i = 0; i < Places; i++)
            {
                if (placed[i] is { } member && state.Engine.RtpInput(PlaceId(i)) is { } input) ports[member.Id] = new RtpPorts(input.VideoPort,
                    input.AudioPort);
            }

            return ports;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// A host's choice of layout for <paramref name="channel"/>'s room: <paramref name="kind"/> with
    /// <paramref name="memberIds"/> in order (their places), in force until the room changes so that it no longer fits (a
    /// member in it left) or until a null <paramref name="kind"/> gives the room its own layout back. False when the room's
    /// program is not running.
    /// </summary>
    /// <exception cref="LayoutException">The layout cannot be drawn with these members, or names one not in the room
    /// (field <c>members</c>); nothing changed.</exception>
    public async Task<bool> ChooseLayoutAsync(string channel, LayoutKind? kind, IReadOnlyList<string> memberIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        RoomState? state;
        lock (_rooms) _rooms.TryGetValue(channel, out state);
        if (state is null) return false;
        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (state.Engine is not { } engine || !ReferenceEquals(host.Find(channel, ProgramOwner.Room), engine)) return false;
            if (kind is not null)
            {
                foreach (var id in memberIds)
                {
                    if (Array.IndexOf(state.PlacedIds, id) < 0) throw new LayoutException("members", $"{id} is not in the room");
                }

            }

            var members = state.Members;
            var placed = state.PlacedIds.Select(id => members.FirstOrDefault(m => m.Id == id)).ToArray();
            var choice = kind is null ? null : new LayoutChoice(kind.Value, [.. memberIds]);
            if (choice is null && members.Count == 0)
            {
                state.Override = null;
                return true;
            }

            // Applied first: a layout the planner refuses throws here and the room keeps what it had.
            engine.Apply(choice is null ? AutoLayout(placed) : ChoiceLayout(choice, placed), null, LayoutTransition.Fade);
            state.Override = choice;
            return true;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>The host's layout over the members' places, or null (the room's own) when there is none or it no longer fits.</summary>
    private ProgramLayout? OverrideFor(RoomState state, IReadOnlyList<RoomMember> members, RoomMember?[] placed)
    {
        if (state.Override is not { } choice) return null;
        if (!choice.MemberIds.All(id => members.Any(m => m.Id == id)))
        {
            state.Override = null;
            return null;
        }

        var layout = ChoiceLayout(choice, placed);
        try
        {
            LayoutPlanner.Plan(layout, host.Settings.Canvas, layout.Inputs.ToDictionary(i => i.InputId, _ => (PixelSize?)null));
            return layout;
        }
        catch (LayoutException)
        {
            state.Override = null;
            return null;
        }
    }

    private static ProgramLayout ChoiceLayout(LayoutChoice choice, RoomMember?[] placed) =>
        new(choice.Kind, [.. choice.MemberIds.Select(id => new LayoutInput(PlaceId(Array.FindIndex(placed, p => p?.Id == id)), FitMode.Fill))]);

    /// <summary>
    /// The room's own layout over its members in place order, not the room's list order: pages that rejoin after a media
    /// server restart come back in any order, and each finds its place and its spot on screen again.
    /// </summary>
    private ProgramLayout AutoLayout(RoomMember?[] placed) =>
        RoomLayout.For([.. placed.Select((m, i) => (m, i)).Where(p => p.m is not null).Select(p => new RoomTile(PlaceId(p.i), p.m!.IsScreen))],
            host.Settings.Canvas);

    /// <summary>Each member at its place: the one it had, or the first free one. Places of members gone are freed.</summary>
    private static RoomMember?[] Place(RoomState state, IReadOnlyList<RoomMember> members)
    {
        var placed = new RoomMember?[Places];
        foreach (var member in members)
        {
            int index = Array.IndexOf(state.PlacedIds, member.Id);
            if (index >= 0) placed[index] = member;
        }

        foreach (var member in members)
        {
            if (Array.IndexOf(state.PlacedIds, member.Id) >= 0) continue;
            // A member coming back (its page rejoined after Janus restarted) takes the place it last had if that is free;
            // a new one takes a place nobody left recently, else the first free one.
            int free = Array.IndexOf(state.LastIds, member.Id);
            if (free < 0 || placed[free] is not null) free = FirstFree(placed, state.LastIds, unusedOnly: true);
            if (free < 0) free = FirstFree(placed, state.LastIds, unusedOnly: false);
            placed[free] = member;
        }

        for (int i = 0; i < Places; i++)
        {
            state.PlacedIds[i] = placed[i]?.Id;
            if (placed[i] is { } member) state.LastIds[i] = member.Id;
        }
        return placed;
    }

    private static int FirstFree(RoomMember?[] placed, string?[] lastIds, bool unusedOnly)
    {
        for (int i = 0; i < placed.Length; i++)
        {
            if (placed[i] is null && (!unusedOnly || lastIds[i] is null)) return i;
        }
        return -1;
    }

    /// <summary>
    /// Each occupied place's placeholder shows its member's name while the member's picture is missing; an empty place
    /// keeps the name of whoever held it last (who may come back to it).
    /// </summary>
    private Task NamePlacesAsync(string channel, ProgramEngine engine, RoomMember?[] placed, CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (int i = 0; i < placed.Length; i++)
        {
            if (placed[i] is { } member) labels[PlaceId(i)] = member.Display;
        }
        return host.NameInputsAsync(channel, engine, labels, cancellationToken);
    }

    /// <summary>Tells each place who feeds it, only where that changed (a place's decoder restarts only for a new member).</summary>
    private static void Feed(RoomState state, ProgramEngine engine, RoomMember?[] placed)
    {
        for (int i = 0; i < Places; i++)
        {
            if (state.FedIds[i] == placed[i]?.Id) continue;
            state.FedIds[i] = placed[i]?.Id;
            engine.RtpInput(PlaceId(i))?.Feed(placed[i] is { } m ? new RtpFeed(m.VideoCodec, m.HasAudio, m.RequestKeyframe) : null);
        }
    }

    private async Task StopWhenStillEmptyAsync(string channel, RoomState state, int generation)
    {
        await Task.Delay(emptyHold, _time).ConfigureAwait(false);
        await state.Gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (state.Generation != generation || state.Engine is not { } engine) return;
            if (await host.StopAsync(channel, only: engine).ConfigureAwait(false)) LogStopped(channel, emptyHold.TotalSeconds);
            state.Reset();
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>Stops every room's program.</summary>
    public async ValueTask DisposeAsync()
    {
        List<(string Channel, RoomState State)> rooms;
        lock (_rooms) rooms = [.. _rooms.Select(r => (r.Key, r.Value))];
        foreach (var (channel, state) in rooms)
        {
            if (state.Engine is { } engine) await host.StopAsync(channel, only: engine).ConfigureAwait(false);
        }
    }

    private sealed record LayoutChoice(LayoutKind Kind, IReadOnlyList<string> MemberIds);

    private sealed class RoomState
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ProgramEngine? Engine { get; set; }

        /// <summary>Which member holds each place.</summary>
        public string?[] PlacedIds { get; } = new string?[Places];

        /// <summary>Who held each place last (kept after they leave, so a member that comes back finds its place again).</summary>
        public string?[] LastIds { get; } = new string?[Places];

        /// <summary>Which member each place's decoder was last told to decode.</summary>
        public string?[] FedIds { get; } = new string?[Places];

        /// <summary>The members as last told, in join order.</summary>
        public IReadOnlyList<RoomMember> Members { get; set; } = [];

        /// <summary>A host's layout, or null for the room's own.</summary>
        public LayoutChoice? Override { get; set; }

        /// <summary>Bumped by every change: a pending stop of an emptied room checks nobody came since.</summary>
        public int Generation { get; set; }

        public void Reset()
        {
            Engine = null;
            Override = null;
            Members = [];
            Array.Clear(PlacedIds);
            Array.Clear(LastIds);
            Array.Clear(FedIds);
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Room program {Channel} started with its first participant")]
    private partial void LogStarted(string channel);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "Room program {Channel} stopped: the room stayed empty for {Seconds} s")]
    private partial void LogStopped(string channel, double seconds);
}
