using Broadcast.Media;
using Broadcast.Transcoder;
using Broadcast.Transcoder.Ladder;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Transcoder.Tests;

public class LadderPlannerTests
{
    private static string Describe(PlannedLadder l) =>
        (l.Passthrough ? "source;" : "") + string.Join(";", l.Rungs.Select(r => $"{r.Name}={r.Width}x{r.Height}@{r.VideoBitrate}"));

    // (name, source width, source height, codec, passthrough, expected)
    public static TheoryData<string, int, int, Codec, bool, string> Cases => new()
    {
        { "1080p source keeps 720/480/360", 1920, 1080, Codec.H264, true, "source;720p=1280x720@3000000;480p=854x480@1200000;360p=640x360@700000" },
        { "720p source: 720p rung is the source", 1280, 720, Codec.H264, true, "source;480p=854x480@1200000;360p=640x360@700000" },
        { "854x480 source", 854, 480, Codec.H264, true, "source;360p=640x360@700000" },
        { "odd 1366x767 source", 1366, 767, Codec.H264, true, "source;720p=1282x720@3000000;480p=854x480@1200000;360p=642x360@700000" },
        { "odd 641x361 source", 641, 361, Codec.H264, true, "source;360p=640x360@700000" },
        { "portrait 1080x1920 uses the short side", 1080, 1920, Codec.H264, true, "source;720p=720x1280@3000000;480p=480x854@1200000;360p=360x640@700000" },
        { "below the lowest rung: source only", 320, 240, Codec.H264, true, "source;" },
        { "HEVC passes through too", 1920, 1080, Codec.H265, true, "source;720p=1280x720@3000000;480p=854x480@1200000;360p=640x360@700000" },
        { "AV1 cannot pass through: top rung at source size", 1280, 720, Codec.Av1, true, "720p=1280x720@3000000;480p=854x480@1200000;360p=640x360@700000" },
        { "passthrough off, 1080p source encodes 1080p too", 1920, 1080, Codec.H264, false, "1080p=1920x1080@6000000;720p=1280x720@3000000;480p=854x480@1200000;360p=640x360@700000" },
        { "passthrough off, 900p source: 1080p rung clamped to the source size", 1600, 900, Codec.H264, false, "1080p=1600x900@6000000;720p=1280x720@3000000;480p=854x480@1200000;360p=640x360@700000" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plans(string name, int width, int height, Codec codec, bool passthrough, string expected)
    {
        var plan = LadderPlanner.Plan(width, height, codec, TranscodeOptions.DefaultLadder, passthrough);
        Assert.True(expected == Describe(plan), $"{name}: {Describe(plan)}");
        Assert.All(plan.Rungs, r => Assert.True(r.Width % 2 == 0 && r.Height % 2 == 0 && r.Width <= Math.Max(width, height), $"{name}: {r}"));
    }

    [Fact]
    public void UnknownSizePlansNothing() =>
        Assert.Empty(LadderPlanner.Plan(0, 0, Codec.H264, TranscodeOptions.DefaultLadder, true).Rungs);

    [Fact]
    public void ReadsConfiguredLadder()
    {
        var options = TranscodeOptions.FromConfiguration(Config(new()
        {
            ["Transcode:Ladder:0:Name"] = "540p", ["Transcode:Ladder:0:Height"] = "540", ["Transcode:Ladder:0:VideoBitrate"] = "2000000",
            ["Transcode:Ladder:1:Name"] = "270p", ["Transcode:Ladder:1:Height"] = "270", ["Transcode:Ladder:1:VideoBitrate"] = "400000",
            ["Transcode:Passthrough"] = "false", ["Transcode:X264Preset"] = "superfast",
        }));
        Assert.Equal([new LadderRung("540p", 540, 2_000_000), new LadderRung("270p", 270, 400_000)], options.Ladder);
        Assert.False(options.Passthrough);
        Assert.True(options.Enabled);
        Assert.Equal("superfast", options.X264Preset);
    }

    [Fact]
    public void DefaultsWhenUnset()
    {
        var options = TranscodeOptions.FromConfiguration(Config(new()));
        Assert.Equal(4, options.Ladder.Count);
        Assert.Equal(128_000, options.AudioBitrate);
        Assert.True(options.Passthrough);
    }

    public static TheoryData<string, string, string> InvalidCases => new()
    {
        { "Transcode:Ladder:0:Height", "Transcode:Ladder:0:Height", "abc" },
        { "Transcode:Ladder:0:Height", "Transcode:Ladder:0:Height", "721" },
        { "Transcode:Ladder:0:VideoBitrate", "Transcode:Ladder:0:VideoBitrate", "-5" },
        { "Transcode:Ladder:0:Name", "Transcode:Ladder:0:Name", "../x" },
        { "Transcode:Ladder:0:Name", "Transcode:Ladder:0:Name", "source" },
        { "Transcode:Enabled", "Transcode:Enabled", "maybe" },
        { "Transcode:X264Preset", "Transcode:X264Preset", "warp" },
        { "Transcode:Backends:0", "Transcode:Backends:0", "cuda9000" },
    };

    [Theory]
    [MemberData(nameof(InvalidCases))]
    public void InvalidConfigNamesTheKey(string expectedKey, string key, string value)
    {
        var values = new Dictionary<string, string?>
        {
            ["Transcode:Ladder:0:Name"] = "480p", ["Transcode:Ladder:0:Height"] = "480", ["Transcode:Ladder:0:VideoBitrate"] = "1200000",
        };
        values[key] = value;
        var ex = Assert.Throws<InvalidOperationException>(() => TranscodeOptions.FromConfiguration(Config(values)));
        Assert.Contains(expectedKey, ex.Message);
        Assert.Contains(value, ex.Message);
    }

    [Fact]
    public void DuplicateRungNameIsRefused()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => TranscodeOptions.FromConfiguration(Config(new()
        {
            ["Transcode:Ladder:0:Name"] = "a", ["Transcode:Ladder:0:Height"] = "480", ["Transcode:Ladder:0:VideoBitrate"] = "1200000",
            ["Transcode:Ladder:1:Name"] = "a", ["Transcode:Ladder:1:Height"] = "360", ["Transcode:Ladder:1:VideoBitrate"] = "700000",
        })));
        Assert.Contains("Transcode:Ladder:1:Name", ex.Message);
    }

    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    [Theory]
    [InlineData(true, "source=chan;480p=chan/480p;360p=chan/360p")]
    [InlineData(false, "480p=chan/480p;360p=chan/360p")]
    public void The_packager_gets_source_only_with_passthrough(bool passthrough, string expected)
    {
        // The packager serves the source's video exactly when the list names `source`: passthrough off must leave it out.
        var source = new LiveStream("chan");
        var outputs = new[] { new PlannedRung("480p", 854, 480, 1_200_000), new PlannedRung("360p", 640, 360, 700_000) }
            .Select(r => new RungOutput(r, new LiveStream("chan/" + r.Name))).ToArray();
        var list = TranscoderService.RenditionList(source, passthrough, outputs);
        Assert.Equal(expected, string.Join(";", list.Select(e => $"{e.Key}={e.Value.Name}")));
        if (passthrough) Assert.Same(source, list[0].Value);
    }
}
