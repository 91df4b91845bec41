using Broadcast.Processes;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Encoding;

namespace Broadcast.Transcoder.Tests;

[Trait("Kind", "Component")]
public class HardwareProbeTests
{
    /// <summary>A stand-in for ffmpeg (no GPU here to make NVENC/QSV/VAAPI succeed): answers from a fixed set.</summary>
    private sealed class FakeProbe(params string[] working) : IEncoderProbe
    {
        public List<string> Asked { get; } = new();

        public Task<ProbeAttempt> ProbeAsync(EncoderBackend backend, CancellationToken cancellationToken)
        {
            Asked.Add(backend.Name);
            bool works = working.Contains(backend.Name);
            return Task.FromResult(new ProbeAttempt(backend.Name, works, works ? "ok" : "no device"));
        }
    }

    private static IReadOnlyList<EncoderBackend> AllFour => EncoderBackends.Candidates(new TranscodeOptions(), ["/dev/dri/renderD128"]);

    [Theory]
    [InlineData("nvenc", "nvenc", "nvenc")]
    [InlineData("qsv", "nvenc,qsv", "qsv,vaapi,x264")]
    [InlineData("vaapi", "nvenc,qsv,vaapi", "vaapi,x264")]
    [InlineData("x264", "nvenc,qsv,vaapi,x264", "x264")]
    public async Task PicksFirstWorkingInOrder(string expected, string asked, string working)
    {
        var probe = new FakeProbe(working.Split(','));
        var result = await HardwareProbe.SelectAsync(AllFour, probe, CancellationToken.None);
        Assert.Equal(expected, result.Selected.Name);
        Assert.Equal(asked.Split(','), probe.Asked);
        Assert.Equal(asked.Split(','), result.Attempts.Select(a => a.Backend));
    }

    [Fact]
    public async Task FallbacksAreTheLaterCandidates()
    {
        var result = await HardwareProbe.SelectAsync(AllFour, new FakeProbe("qsv", "x264"), CancellationToken.None);
        Assert.Equal(["vaapi", "x264"], result.Fallbacks.Select(b => b.Name));
    }

    [Fact]
    public async Task NothingWorkingIsAnErrorListingEachAttempt()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => HardwareProbe.SelectAsync(AllFour, new FakeProbe(), CancellationToken.None));
        Assert.Contains("nvenc: no device", ex.Message);
        Assert.Contains("x264: no device", ex.Message);
    }

    /// <summary>The real probe on this machine (no GPU, no render node): every hardware encoder fails its one-frame encode, libx264 works.</summary>
    [Fact]
    public async Task RealProbeOnThisMachinePicksLibx264()
    {
        string ffmpeg = FfmpegLocator.Resolve("ffmpeg");
        var result = await HardwareProbe.SelectAsync(EncoderBackends.Candidates(new TranscodeOptions()), new FfmpegEncoderProbe(ffmpeg), CancellationToken.None);
        Assert.Equal("x264", result.Selected.Name);
        Assert.Equal("x264", result.Attempts[^1].Backend);
        Assert.All(result.Attempts.SkipLast(1), a => Assert.False(a.Works, a.ToString()));
        Assert.Equal("nvenc", result.Attempts[0].Backend);
    }

    /// <summary>
    /// A machine's answer is kept for the process: a second transcoder start (another host in the same process) does not
    /// start ffmpeg again for a back-end already asked, whether it worked or failed. The "ffmpeg" here is a script that
    /// counts its runs and exits with the code its name asks for.
    /// </summary>
    [Theory]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public async Task EachBackendIsAskedOncePerProcessAndItsAnswerKept(int exitCode, bool works)
    {
        using var directory = new TempDirectory("probe-answers");
        string runs = directory.Combine("runs");
        string ffmpeg = directory.Combine($"ffmpeg-exit-{exitCode}");
        await File.WriteAllTextAsync(ffmpeg, $"#!/bin/sh\necho run >> '{runs}'\necho 'no such device' >&2\nexit {exitCode}\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(ffmpeg, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var backend = new H264X264Backend();

        var first = await new FfmpegEncoderProbe(ffmpeg).ProbeAsync(backend, CancellationToken.None);
        var second = await new FfmpegEncoderProbe(ffmpeg).ProbeAsync(backend, CancellationToken.None);

        Assert.Equal(works, first.Works);
        Assert.Equal(first, second);
        Assert.Single(await File.ReadAllLinesAsync(runs));
        // Another back-end of the same ffmpeg is its own question.
        await new FfmpegEncoderProbe(ffmpeg).ProbeAsync(new H264QsvBackend(), CancellationToken.None);
        Assert.Equal(2, (await File.ReadAllLinesAsync(runs)).Length);
    }
}
