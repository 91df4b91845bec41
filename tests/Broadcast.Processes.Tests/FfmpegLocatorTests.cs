using Broadcast.Processes;

namespace Broadcast.Processes.Tests;

public sealed class FfmpegLocatorTests
{
    private static FfmpegLocator Locator(params (string Key, string? Value)[] settings)
    {
        var map = settings.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal);
        return new FfmpegLocator(key => map.GetValueOrDefault(key));
    }

    [Theory]
    [InlineData("/opt/ff/ffmpeg", "/usr/bin/ffmpeg", "/opt/ff/ffmpeg")]
    [InlineData(null, "/usr/bin/ffmpeg", "/usr/bin/ffmpeg")]
    [InlineData(" ", "", "ffmpeg")]
    [InlineData(null, null, "ffmpeg")]
    public void A_parts_own_ffmpeg_comes_before_the_one_setting_and_ffmpeg_on_path_after_it(string? own, string? shared, string expected)
    {
        var locator = Locator(("Srt:FfmpegPath", own), ("Transcode:FfmpegPath", shared));
        Assert.Equal(expected, locator.For("Srt"));
        // Another part's own setting is not this one's, and parts without a section take the one setting.
        Assert.Equal(string.IsNullOrWhiteSpace(shared) ? "ffmpeg" : shared, locator.For("Whep"));
        Assert.Equal(string.IsNullOrWhiteSpace(shared) ? "ffmpeg" : shared, locator.Shared);
    }

    [Fact]
    public void The_setting_named_is_the_one_that_chose()
    {
        var locator = Locator(("Pull:FfmpegPath", "/opt/pull/ffmpeg"));
        Assert.Equal("Pull:FfmpegPath", locator.SettingFor("Pull"));
        Assert.Equal("Transcode:FfmpegPath", locator.SettingFor("Whep"));
        Assert.Equal("Transcode:FfmpegPath", locator.SettingFor(null));
    }

    [Fact]
    public void MissingFfmpegNamesTheDebianPackage()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => FfmpegLocator.Resolve("ffmpeg-that-does-not-exist"));
        Assert.Contains("Debian package 'ffmpeg'", ex.Message);
        ex = Assert.Throws<InvalidOperationException>(() => FfmpegLocator.Resolve("/nonexistent/bin/ffmpeg"));
        Assert.Contains("Transcode:FfmpegPath", ex.Message);
        Assert.Equal("/bin/sh", FfmpegLocator.Resolve("/bin/sh"));
    }

    [Fact]
    public void The_check_refuses_a_missing_ffmpeg_naming_the_parts_that_need_it_and_their_setting()
    {
        var locator = Locator(("Transcode:FfmpegPath", "/nonexistent/bin/ffmpeg"), ("Whep:FfmpegPath", "/bin/sh"));
        var ex = Assert.Throws<InvalidOperationException>(() => locator.Check(
            [new FfmpegRequirement("clips"), new FfmpegRequirement("programs"), new FfmpegRequirement("WHEP", "Whep")]));
        Assert.Contains("'/nonexistent/bin/ffmpeg', Transcode:FfmpegPath", ex.Message);
        Assert.Contains("needed by clips, programs", ex.Message);
        Assert.Contains("apt-get install ffmpeg", ex.Message);
        Assert.DoesNotContain("WHEP", ex.Message);

        // A part's own missing ffmpeg is named by its own setting.
        var own = Locator(("Srt:FfmpegPath", "/nonexistent/srt/ffmpeg"));
        ex = Assert.Throws<InvalidOperationException>(() => own.Check([new FfmpegRequirement("SRT ingest (Srt:Port)", "Srt")]));
        Assert.Contains("'/nonexistent/srt/ffmpeg', Srt:FfmpegPath", ex.Message);
    }

    [Fact]
    public void A_node_whose_parts_need_no_ffmpeg_passes_the_check_without_one()
    {
        Locator(("Transcode:FfmpegPath", "/nonexistent/bin/ffmpeg")).Check([]);
        Locator(("Transcode:FfmpegPath", "/bin/sh")).Check([new FfmpegRequirement("clips")]);
    }
}
