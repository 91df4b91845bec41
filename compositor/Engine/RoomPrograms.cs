using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>A participant of a room as its program takes it: what its RTP carries and how to ask it for a keyframe.</summary>
public sealed record RoomMember(string Id, string VideoCodec, bool HasAudio, bool IsScreen, Action RequestKeyframe);

/// <summary>Where a room member's RTP goes: the loopback ports of its place in the program.</summary>
public readonly record struct RtpPorts(int VideoPort, int AudioPort);

/// <summary>The room's channel runs a program that is not the room's (one applied through the API): the room cannot take it over.</summary>
public sealed class RoomProgramConflictException(string message) : Exception(message);

/// <summary>
/// The programs that follow rooms: a room's channel runs a program of <see cref="Places"/> RTP inputs (<c>room1</c>…),
/// started with the room's first member. Each member keeps its place for as long as it stays (a joining or leaving
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
    /// places new members, frees the places of those gone, applies the room's layout. Returns each member's ports.
    /// </summary>
    /// <exception cref="RoomProgramConflictException">The channel runs a program applied through the API.</exception>
    /// <exception cref="ProgramChannelOnAirException">The channel is on air from an encoder.</exception>
    /// <exception cref="ArgumentException">More members than places.</exception>
    public async Task<IReadOnlyDictionary<string, RtpPorts>> UpdateAsync(string channel, IReadOnlyList<RoomMember> members, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count > Places) throw new ArgumentException($"a room's program has {Places} places", nameof(members));
        RoomState state;
        lock (_rooms)
        {
            if (!_rooms.TryGetValue(channel, out state!)) _rooms[channel] = state = new RoomState();
        }

        await state.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            state.Generation++;
            var running = host.Find(channel);
            if (running is not null && !ReferenceEquals(running, state.Engine))
                throw new RoomProgramConflictException("the channel runs a program set through the API; stop it (DELETE /api/channels/{id}/program) before the room goes on air");
            if (running is null) state.Reset();

            var placed = Place(state, members);
            if (members.Count == 0)
            {
                if (state.Engine is { } engine) Feed(state, engine, placed);
                _ = StopWhenStillEmptyAsync(channel, state, state.Generation);
                return new Dictionary<string, RtpPorts>();
            }

            var layout = RoomLayout.For([.. members.Select(m => new RoomTile(PlaceId(Array.IndexOf(placed, m)), m.IsScreen))], host.Settings.Canvas);
            if (state.Engine is null)
            {
                var inputs = Enumerable.Range(0, Places).Select(i => ProgramInputSource.RtpSlot(PlaceId(i))).ToList();
                state.Engine = await host.ApplyAsync(channel, inputs, layout, new Dictionary<string, Audio.MixSettings>(), LayoutTransition.Cut, cancellationToken)
                    .ConfigureAwait(false);
                LogStarted(channel);
            }
            else
            {
                state.Engine.Apply(layout, null, LayoutTransition.Fade);
            }

            Feed(state, state.Engine, placed);
            var ports = new Dictionary<string, RtpPorts>(StringComparer.Ordinal);
            for (int i = 0; i < Places; i++)
            {
                if (placed[i] is { } member && state.Engine.RtpInput(PlaceId(i)) is { } input) ports[member.Id] = new RtpPorts(input.VideoPort, input.AudioPort);
            }

            return ports;
        }
        finally
        {
            state.Gate.Release();
        }
    }

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
            int free = Array.FindIndex(placed, p => p is null);
            placed[free] = member;
        }

        for (int i = 0; i < Places; i++) state.PlacedIds[i] = placed[i]?.Id;
        return placed;
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

    private sealed class RoomState
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ProgramEngine? Engine { get; set; }

        /// <summary>Which member holds each place.</summary>
        public string?[] PlacedIds { get; } = new string?[Places];

        /// <summary>Which member each place's decoder was last told to decode.</summary>
        public string?[] FedIds { get; } = new string?[Places];

        /// <summary>Bumped by every change: a pending stop of an emptied room checks nobody came since.</summary>
        public int Generation { get; set; }

        public void Reset()
        {
            Engine = null;
            Array.Clear(PlacedIds);
            Array.Clear(FedIds);
        }
    }

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Room program {Channel} started with its first participant")]
    private partial void LogStarted(string channel);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "Room program {Channel} stopped: the room stayed empty for {Seconds} s")]
    private partial void LogStopped(string channel, double seconds);
}
