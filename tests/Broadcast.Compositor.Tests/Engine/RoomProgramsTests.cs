using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Tests.Inputs;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// A room's program with the real ffmpeg: members keep their places (and ports) while others come and go, the program
/// is one broadcast from the first member to the end of the empty hold, and a program set through the API is not taken over.
/// </summary>
[Trait("Kind", "Component")]
[Collection(ProgramEngineCollection.Name)]
public sealed class RoomProgramsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly ProgramSettings Settings = new("ffmpeg", new PixelSize(320, 180), new ProgramClock(10)) { VideoKilobits = 300 };

    [Fact]
    public async Task Members_keep_their_places_the_program_stays_one_broadcast_and_stops_after_the_empty_hold()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        await using var rooms = new RoomPrograms(host, TimeSpan.FromSeconds(1), NullLogger.Instance);
        int keyframeRequests = 0;
        var anna = new RoomMember("anna", "VP8", HasAudio: true, IsScreen: false, () => Interlocked.Increment(ref keyframeRequests), Display: "Anna");
        var ben = new RoomMember("ben", "VP8", HasAudio: true, IsScreen: false, () => { }, Display: "Ben");

        var first = await rooms.UpdateAsync("studio", [anna], CancellationToken.None);
        var engine = host.Find("studio");
        Assert.NotNull(engine);
        var stream = registry.Find("studio");
        using (var sender = RtpSender.Start("red", 440, first["anna"].VideoPort, first["anna"].AudioPort))
        {
            await WaitFor.ConditionAsync(() => engine.Status().InputsPresent["room1"], Bound, "anna's picture in place 1", sender.Tail);
        }
        Assert.True(Volatile.Read(ref keyframeRequests) >= 1);

        Assert.Equal(["room1"], engine.Cards.Keys);

        var second = await rooms.UpdateAsync("studio", [anna, ben], CancellationToken.None);
        // Each place's placeholder carries its member's name (rendered once: Anna's card is the same one).
        var annaCard = engine.Cards["room1"];
        Assert.Equal(["room1", "room2"], engine.Cards.Keys.Order());
        Assert.Equal(first["anna"], second["anna"]);
        Assert.NotEqual(first["anna"], second["ben"]);
        Assert.Equal(engine.RtpInput("room2")!.VideoPort, second["ben"].VideoPort);

        // Anna leaves: Ben keeps place 2 (his decoder is not restarted), the program is the same broadcast.
        var third = await rooms.UpdateAsync("studio", [ben], CancellationToken.None);
        Assert.Equal(second["ben"], third["ben"]);
        Assert.Same(annaCard, engine.Cards["room1"]); // her place keeps her name: she may come back to it
        Assert.Null(engine.RtpInput("room1")!.Current);
        Assert.Same(engine, host.Find("studio"));
        Assert.Same(stream, registry.Find("studio"));

        // Everyone out and back in the other order (a media server restart, pages rejoining): each finds its old place.
        await rooms.UpdateAsync("studio", [], CancellationToken.None);
        var back = await rooms.UpdateAsync("studio", [ben, anna], CancellationToken.None);
        Assert.Equal(second["ben"], back["ben"]);
        Assert.Equal(first["anna"], back["anna"]);
        // ... and its spot on screen: the layout goes by place (anna left, ben right), not by the order they came back in.
        Assert.Equal(["room1", "room2"], engine.Layout.Inputs.Select(i => i.InputId));
        await rooms.UpdateAsync("studio", [ben], CancellationToken.None);

        // Empty: held (placeholders) for the hold time, then stopped.
        Assert.Empty(await rooms.UpdateAsync("studio", [], CancellationToken.None));
        Assert.Same(engine, host.Find("studio"));
        await WaitFor.ConditionAsync(() => host.Find("studio") is null, Bound, "the emptied room's program stopped after its hold");

        // A new first member starts a new program.
        await rooms.UpdateAsync("studio", [ben], CancellationToken.None);
        Assert.NotNull(host.Find("studio"));
        Assert.NotSame(engine, host.Find("studio"));
    }

    [Fact]
    public async Task A_program_set_through_the_api_is_not_taken_over_and_a_rejoin_within_the_hold_keeps_the_broadcast()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        await using var rooms = new RoomPrograms(host, TimeSpan.FromSeconds(30), NullLogger.Instance);
        var member = new RoomMember("anna", "VP8", HasAudio: false, IsScreen: false, () => { });

        byte[] slate = ProgramHostTests.Png("blue");
        await host.ApplyAsync("show", ProgramOwner.Api, [new("slate", null, slate, 64, 36)], new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]),
            new Dictionary<string, MixSettings>(), LayoutTransition.Cut, CancellationToken.None);
        await Assert.ThrowsAsync<RoomProgramConflictException>(() => rooms.UpdateAsync("show", [member], CancellationToken.None));
        await Assert.ThrowsAsync<RoomProgramConflictException>(() => rooms.UpdateAsync("other",
            [.. Enumerable.Range(0, RoomPrograms.Places + 1).Select(i => member with { Id = $"m{i}" })], CancellationToken.None));

        await rooms.UpdateAsync("room", [member], CancellationToken.None);
        var engine = host.Find("room");
        // Nor is the room's show taken over by a program set through the API: refused, the show goes on as it was.
        Assert.Equal(ProgramOwner.Room, (await Assert.ThrowsAsync<ProgramOwnedException>(() => host.ApplyAsync("room", ProgramOwner.Api,
            [new("slate", null, slate, 64, 36)], new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]),
            new Dictionary<string, MixSettings>(), LayoutTransition.Cut, CancellationToken.None))).Owner);
        Assert.False(await host.StopAsync("room", ProgramOwner.Api));
        Assert.Same(engine, host.Find("room", ProgramOwner.Room));

        // A host's layout holds while its members stay; one that cannot be drawn, or names a stranger, changes nothing.
        var ben = member with { Id = "ben" };
        await rooms.UpdateAsync("room", [member, ben], CancellationToken.None);
        Assert.True(await rooms.ChooseLayoutAsync("room", LayoutKind.Single, ["ben"], CancellationToken.None));
        await Assert.ThrowsAsync<LayoutException>(() => rooms.ChooseLayoutAsync("room", LayoutKind.SideBySide, ["ben"], CancellationToken.None));
        Assert.Equal("members", (await Assert.ThrowsAsync<LayoutException>(() => rooms.ChooseLayoutAsync("room", LayoutKind.Single, ["stranger"],
            CancellationToken.None))).Field);
        Assert.False(await rooms.ChooseLayoutAsync("nowhere", LayoutKind.Single, ["ben"], CancellationToken.None));
        // Ben leaves: the choice no longer fits and the room's own layout is back (no throw, one member, single).
        await rooms.UpdateAsync("room", [member], CancellationToken.None);
        Assert.True(await rooms.ChooseLayoutAsync("room", null, [], CancellationToken.None));
        await rooms.UpdateAsync("room", [], CancellationToken.None);
        await rooms.UpdateAsync("room", [member], CancellationToken.None);
        Assert.Same(engine, host.Find("room"));
    }
}
