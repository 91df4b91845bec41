using System.Collections.Concurrent;
using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Whep;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// A real-time channel's publish warms the node before any viewer: the real Janus (Debian's janus 1.1.2) starts and the
/// channel is held as a viewer would hold it; a channel not marked real-time warms nothing; the publish's end lets go.
/// </summary>
[Trait("Kind", "Component")]
public sealed class WhepPrewarmTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_real_time_channels_publish_starts_janus_and_holds_its_feed_until_the_publish_ends()
    {
        using var directory = new TempDirectory("janus-config");
        var registry = new LiveStreamRegistry();
        await using var janus = new JanusSupervisor(Options.Create(new JanusOptions { ConfigDirectory = directory.Path }), NullLogger<JanusSupervisor>.Instance);
        await using var whep = new WhepService(janus, registry, Options.Create(new WhepOptions { FfmpegPath = "ffmpeg" }), NullLogger<WhepService>.Instance);
        var settings = new RealTimeSetting("quiz");
        using var prewarm = new WhepPrewarm(registry, whep, settings, NullLogger<WhepPrewarm>.Instance);
        await prewarm.StartAsync(CancellationToken.None);

        // Not real-time: asked about, and nothing warmed (Janus stays down: it starts on a first viewer).
        Assert.True(registry.TryStartPublish("talk", out var talk));
        await WaitFor.ConditionAsync(() => settings.Asked.Contains("talk"), Bound, "the talk channel's setting to be read");
        Assert.False(whep.IsWarm("talk"));
        Assert.False(janus.IsReady);

        // Real-time: warm, and Janus comes up with no viewer asking.
        Assert.True(registry.TryStartPublish("quiz", out var quiz));
        await WaitFor.ConditionAsync(() => whep.IsWarm("quiz"), Bound, "the real-time channel to be held warm");
        await WaitFor.ConditionAsync(() => janus.IsReady, Bound, "Janus to start before the first viewer");
        Assert.Equal(1, whep.Status.WarmChannels);
        Assert.False(whep.IsWarm("talk"));

        // Its publish ends: let go at once (the feed itself stops after Whep:IdleStop unless viewers hold it).
        registry.EndPublish(quiz);
        Assert.False(whep.IsWarm("quiz"));
        Assert.Equal(0, whep.Status.WarmChannels);
        registry.EndPublish(talk);
        await prewarm.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_node_with_janus_off_warms_nothing()
    {
        using var directory = new TempDirectory("janus-config");
        var registry = new LiveStreamRegistry();
        await using var janus = new JanusSupervisor(Options.Create(new JanusOptions { ConfigDirectory = directory.Path, Enabled = false }), NullLogger<JanusSupervisor>.Instance);
        await using var whep = new WhepService(janus, registry, Options.Create(new WhepOptions { FfmpegPath = "ffmpeg" }), NullLogger<WhepService>.Instance);
        var settings = new RealTimeSetting("quiz");
        using var prewarm = new WhepPrewarm(registry, whep, settings, NullLogger<WhepPrewarm>.Instance);
        await prewarm.StartAsync(CancellationToken.None);

        Assert.True(registry.TryStartPublish("quiz", out var quiz));
        whep.HoldWarm("quiz"); // as the prewarm would: a node without Janus holds nothing
        Assert.False(whep.IsWarm("quiz"));
        Assert.Empty(settings.Asked);
        registry.EndPublish(quiz);
        await prewarm.StopAsync(CancellationToken.None);
    }

    /// <summary>The channels' <c>realTime</c> settings: only the named channel is real-time; every question is recorded.</summary>
    private sealed class RealTimeSetting(string realTimeChannel) : IRealTimeChannels
    {
        public ConcurrentBag<string> Asked { get; } = [];

        public ValueTask<bool> IsRealTimeAsync(string channel, CancellationToken cancellationToken)
        {
            Asked.Add(channel);
            return ValueTask.FromResult(channel == realTimeChannel);
        }
    }
}
