using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Tests.Inputs;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// The node's programs with the real ffmpeg, image inputs only (no channel needed): the same inputs again change the
/// running engine's layout in place, other inputs are changed on air in the same engine and broadcast, and a refused
/// change (an image ffmpeg cannot read, a layout the planner cannot draw, a channel on air from an encoder) leaves what
/// runs untouched.
/// </summary>
[Trait("Kind", "Component")]
[Collection(ProgramEngineCollection.Name)]
public sealed class ProgramHostTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly ProgramSettings Settings = new("ffmpeg", new PixelSize(320, 180), new ProgramClock(10)) { VideoKilobits = 300 };
    private static readonly Dictionary<string, MixSettings> NoMix = [];

    [Fact]
    public async Task The_same_inputs_change_the_layout_other_inputs_change_on_air_and_refusals_change_nothing()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        byte[] blue = Png("blue"), red = Png("red");
        ProgramInputSource[] slate = [new("slate", null, blue, 64, 36)];
        var single = new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate", FitMode.Fill)]);

        var first = await host.ApplyAsync("program", ProgramOwner.Api, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        await WaitFor.ConditionAsync(() => first.Output?.LastVideoTime is not null, Bound, "the program's first encoded frame");
        var stream = registry.Find("program");
        Assert.NotNull(stream);

        // The same inputs: the layout is swapped into the running engine, the channel's stream is the same broadcast.
        var inset = new ProgramLayout(LayoutKind.Free, [new LayoutInput("slate", FitMode.Fit, new PixelRect(0, 0, 160, 90))]);
        Assert.Same(first, await host.ApplyAsync("program", ProgramOwner.Api, slate, inset, NoMix, LayoutTransition.Fade, CancellationToken.None));
        Assert.Same(stream, registry.Find("program"));

        // Refusals: nothing changes.
        await Assert.ThrowsAsync<LayoutException>(() => host.ApplyAsync("program", ProgramOwner.Api, slate,
            new ProgramLayout(LayoutKind.SideBySide, [new LayoutInput("slate")]), NoMix, LayoutTransition.Cut, CancellationToken.None));
        var unreadable = await Assert.ThrowsAsync<ProgramImageException>(() => host.ApplyAsync("program", ProgramOwner.Api,
            [new("slate", null, blue, 64, 36), new("logo", null, "not an image"u8.ToArray(), 32, 32)], single, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Equal(1, unreadable.Index);
        Assert.Same(first, host.Find("program"));
        Assert.Same(stream, registry.Find("program"));

        // Other inputs: changed on air in the same engine, and the channel's broadcast goes on.
        long before = first.Output!.LastVideoTime!.Value;
        var second = await host.ApplyAsync("program", ProgramOwner.Api, [new("slate", null, red, 64, 36), new("logo", null, blue, 32, 32)],
            new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate", FitMode.Fill)]) { Overlays = [new LayoutOverlay("logo", new PixelRect(0, 0, 32, 32))] },
            NoMix, LayoutTransition.Fade, CancellationToken.None);
        Assert.Same(first, second);
        Assert.Same(stream, registry.Find("program"));
        await WaitFor.ConditionAsync(() => second.Output!.LastVideoTime > before + (2 * Timescales.Video), Bound, "the program encoding on after the change");

        // A change that keeps an image keeps its decoded picture; the one it drops is freed, and the program goes on.
        var third = await host.ApplyAsync("program", ProgramOwner.Api, [new("slate", null, red, 64, 36)], single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        Assert.Same(first, third);
        long changed = third.Output!.LastVideoTime!.Value;
        await WaitFor.ConditionAsync(() => third.Output!.LastVideoTime > changed + Timescales.Video, Bound, "the program encoding on after dropping the logo");
        Assert.Same(stream, registry.Find("program"));

        Assert.True(await host.StopAsync("program"));
        Assert.Null(host.Find("program"));
        Assert.False(await host.StopAsync("program"));
    }

    [Fact]
    public async Task A_labelled_input_gets_its_name_card_kept_while_the_label_stays_and_renewed_when_it_changes()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        var grid = new ProgramLayout(LayoutKind.Grid, [new LayoutInput("guest"), new LayoutInput("slate")]);
        ProgramInputSource[] Inputs(string? label) => [new("guest", "guest-cam", null, 0, 0) { Label = label }, new("slate", null, Png("blue"), 64, 36) { Label = "ignored" }];

        // The guest's channel is not on air: its tile is the placeholder with the name card; an image takes no card.
        var engine = await host.ApplyAsync("program", ProgramOwner.Api, Inputs("Ana"), grid, NoMix, LayoutTransition.Cut, CancellationToken.None);
        var card = Assert.Single(engine.Cards);
        Assert.Equal("guest", card.Key);
        Assert.Equal(NameCard.SizeFor(Settings.Canvas), new PixelSize(card.Value.Width, card.Value.Height));
        Assert.Contains(card.Value.Alpha.ToArray(), a => a > 128);

        // The same label again (a layout change): the same card. A new label: a new card, the old one freed, the same
        // broadcast and the guest's decoder kept.
        var decoder = Assert.Single(engine.Inputs);
        Assert.Same(engine, await host.ApplyAsync("program", ProgramOwner.Api, Inputs("Ana"), grid with { Kind = LayoutKind.SideBySide }, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Same(card.Value, engine.Cards["guest"]);
        Assert.Same(engine, await host.ApplyAsync("program", ProgramOwner.Api, Inputs("Ana (away)"), grid, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.NotSame(card.Value, engine.Cards["guest"]);
        Assert.Throws<ObjectDisposedException>(() => card.Value.Alpha.Length);
        Assert.Same(decoder, Assert.Single(engine.Inputs));

        // No label: the plain placeholder.
        Assert.Same(engine, await host.ApplyAsync("program", ProgramOwner.Api, Inputs(null), grid, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Empty(engine.Cards);
    }

    [Fact]
    public async Task A_feed_input_is_opened_into_the_hosts_own_hub_kept_while_its_source_stays_and_closed_when_it_goes()
    {
        var registry = new LiveStreamRegistry();
        var feeds = new ColourFeedsForTests();
        // A long preroll: the change of source waits for the new feed's first picture however busy the machine is.
        await using var host = new ProgramHost(registry, Settings with { InputPreroll = Bound }, NullLogger.Instance, feeds);
        var single = new ProgramLayout(LayoutKind.Single, [new LayoutInput("film", FitMode.Fill)]);
        ProgramInputSource[] Film(string colour, string? label = null) => [ProgramInputSource.Fed("film", new FeedSource(colour, Loop: true)) with { Label = label }];

        var engine = await host.ApplyAsync("program", ProgramOwner.Api, Film("red"), single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        await WaitFor.ConditionAsync(() => engine.Status().InputsPresent["film"], Bound, "the film's feed decoded");
        var opened = Assert.Single(feeds.Opened);
        Assert.StartsWith("program/film/", opened.StreamName, StringComparison.Ordinal);
        // The feed is no channel of the node: nothing publishes under its name there.
        Assert.Null(registry.Find(opened.StreamName));
        Assert.Equal("live", host.FeedStatuses("program")["film"].State);
        var decoder = Assert.Single(engine.Inputs);

        // A new name for its placeholder keeps the feed and its decoder.
        Assert.Same(engine, await host.ApplyAsync("program", ProgramOwner.Api, Film("red", "Film night"), single, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Single(feeds.Opened);
        Assert.Same(decoder, Assert.Single(engine.Inputs));
        Assert.True(engine.Cards.ContainsKey("film"));

        // Another source: a new feed (the change waits for its first picture), the old one closed once no decoder reads it.
        Assert.Same(engine, await host.ApplyAsync("program", ProgramOwner.Api, Film("blue", "Film night"), single, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Equal(2, feeds.Opened.Count);
        Assert.True(opened.Closed);
        Assert.NotEqual(opened.StreamName, feeds.Opened[1].StreamName);
        Assert.True(engine.Status().InputsPresent["film"], "the change went on air before the new source's first picture");

        Assert.True(await host.StopAsync("program"));
        Assert.True(feeds.Opened[1].Closed);
        Assert.Empty(host.FeedStatuses("program"));
    }

    [Fact]
    public async Task A_host_without_feeds_refuses_a_feed_input_by_its_index_and_starts_nothing()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        ProgramInputSource[] inputs = [new("slate", null, Png("blue"), 64, 36), ProgramInputSource.Fed("film", new FeedSource("file:film.mp4", Loop: false))];
        var refused = await Assert.ThrowsAsync<ProgramFeedException>(() => host.ApplyAsync("program", ProgramOwner.Api, inputs,
            new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]), NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Equal(1, refused.Index);
        Assert.Null(host.Find("program"));
        Assert.Null(registry.Find("program"));
    }

    [Fact]
    public async Task A_program_whose_stream_is_ended_from_outside_stops_and_says_so_and_one_stopped_here_does_not()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        var ended = new List<(string, ProgramEngine, ProgramOwner)>();
        host.EndedFromOutside += (channel, engine, owner) => { lock (ended) ended.Add((channel, engine, owner)); };
        ProgramInputSource[] slate = [new("slate", null, Png("blue"), 64, 36)];
        var single = new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]);

        // "End broadcast", an event's end or a lost lease end the channel's stream: the engine stops with it.
        var engine = await host.ApplyAsync("program", ProgramOwner.Api, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        registry.EndPublish(registry.Find("program")!);
        await WaitFor.ConditionAsync(() => host.Find("program") is null, Bound, "the program stopped after its stream ended");
        await WaitFor.ConditionAsync(() => { lock (ended) return ended.Count == 1; }, Bound, "the end reported");
        Assert.Equal(("program", engine, ProgramOwner.Api), ended[0]);

        // Stopped by the host itself: nothing to report.
        await host.ApplyAsync("other", ProgramOwner.Api, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        Assert.True(await host.StopAsync("other"));
        await host.ApplyAsync("program", ProgramOwner.Api, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        Assert.True(await host.StopAsync("program"));
        lock (ended) Assert.Single(ended);
    }

    [Fact]
    public async Task The_host_keeps_whose_each_program_is_and_neither_owner_changes_or_stops_the_others()
    {
        var registry = new LiveStreamRegistry();
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        ProgramInputSource[] slate = [new("slate", null, Png("blue"), 64, 36)];
        ProgramInputSource[] red = [new("slate", null, Png("red"), 64, 36)];
        var single = new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]);

        var api = await host.ApplyAsync("api", ProgramOwner.Api, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        var room = await host.ApplyAsync("room", ProgramOwner.Room, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None);
        Assert.Equal(["api"], host.Running(ProgramOwner.Api));
        Assert.Equal(["room"], host.Running(ProgramOwner.Room));
        Assert.Same(api, host.Find("api", ProgramOwner.Api));
        Assert.Null(host.Find("api", ProgramOwner.Room));
        Assert.Same(room, host.Find("room"));

        // The other owner's apply is refused, same inputs or not, and changes nothing.
        var refused = await Assert.ThrowsAsync<ProgramOwnedException>(() =>
            host.ApplyAsync("room", ProgramOwner.Api, red, single, NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Equal(ProgramOwner.Room, refused.Owner);
        Assert.Equal(ProgramOwner.Api, (await Assert.ThrowsAsync<ProgramOwnedException>(() =>
            host.ApplyAsync("api", ProgramOwner.Room, slate, single, NoMix, LayoutTransition.Cut, CancellationToken.None))).Owner);
        Assert.Same(room, host.Find("room", ProgramOwner.Room));

        // Nor does either stop the other's.
        Assert.False(await host.StopAsync("room", ProgramOwner.Api));
        Assert.False(await host.StopAsync("api", ProgramOwner.Room));
        Assert.True(await host.StopAsync("room", ProgramOwner.Room));
        Assert.Empty(host.Running(ProgramOwner.Room));
        Assert.True(await host.StopAsync("api", ProgramOwner.Api));
        Assert.Null(host.Find("api"));
    }

    [Fact]
    public async Task A_channel_on_air_from_an_encoder_refuses_a_program()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("taken", out _));
        await using var host = new ProgramHost(registry, Settings, NullLogger.Instance);
        await Assert.ThrowsAsync<ProgramChannelOnAirException>(() => host.ApplyAsync("taken", ProgramOwner.Api, [new("slate", null, Png("blue"), 64, 36)],
            new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate")]), NoMix, LayoutTransition.Cut, CancellationToken.None));
        Assert.Null(host.Find("taken"));
    }

    internal static byte[] Png(string colour)
    {
        using var dir = new TempDirectory();
        string png = dir.Combine($"{colour}.png");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", $"color=c={colour}:s=64x36", "-frames:v", "1", png);
        return File.ReadAllBytes(png);
    }
}

/// <summary>
/// Tests that run whole programs (several ffmpegs each) take turns: side by side on two cores they starve each other's
/// source encoders, and the program's sound measured then is the stall's silence.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProgramEngineCollection
{
    public const string Name = "program engines";
}

/// <summary>
/// Feeds for tests: the source's URL is taken as a colour, published by ffmpeg's lavfi into the host's hub with a tone
/// (<see cref="ChannelFeed"/>), standing in for the server's pull sessions (which the end-to-end tests run against real files).
/// </summary>
internal sealed class ColourFeedsForTests : IProgramFeeds
{
    public List<Feed> Opened { get; } = [];

    public IProgramFeed Open(string streamName, FeedSource source, LiveStreamRegistry hub)
    {
        var feed = new Feed(streamName, ChannelFeed.Start(hub, streamName, source.Url, 440, 320, 180, 10));
        lock (Opened) Opened.Add(feed);
        return feed;
    }

    internal sealed class Feed(string streamName, ChannelFeed channel) : IProgramFeed
    {
        public string StreamName { get; } = streamName;

        public bool Closed { get; private set; }

        public FeedStatus Status => new(Closed ? "stopped" : "live", null, StreamName);

        public async ValueTask DisposeAsync()
        {
            Closed = true;
            await channel.DisposeAsync();
        }
    }
}
