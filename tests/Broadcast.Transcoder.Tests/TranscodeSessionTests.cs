using System.Diagnostics;
using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Encoding;
using Broadcast.Media.Flv;
using Broadcast.Transcoder.Ladder;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Transcoder.Tests;

/// <summary>Component tests with the real ffmpeg: keyframe alignment and the supervised session end to end (no server).</summary>
[Trait("Kind", "Component")]
public class TranscodeSessionTests
{
    private static readonly PlannedRung[] Rungs = [new("180p", 240, 180, 300_000), new("120p", 160, 120, 150_000)];

    /// <summary>
    /// The proof behind the keyframe choice: a source whose GOP (45 frames, 1.5 s) matches no segment length goes
    /// through the exact argument list the session uses (outputs to files instead of TCP); every rung's keyframes
    /// sit at the source's keyframe times, and no rung has another keyframe.
    /// </summary>
    [Fact]
    public async Task RungKeyframesAreTheSourceKeyframes()
    {
        var spec = new ClipSpec { Seconds = 5, Width = 320, Height = 240, GopFrames = 45 };
        string clip = await TestMedia.GetClipAsync(spec);
        using var dir = new TempDirectory("keyframes");
        var outputs = Rungs.Select(r => dir.Combine(r.Name + ".flv")).ToArray();
        var args = FfmpegCommand.Build(new H264X264Backend(), Rungs, outputs);
        args[args.IndexOf("pipe:0")] = clip;
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        _ = p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(p.ExitCode == 0, await stderr);

        var source = await KeyframeTimesAsync(clip);
        Assert.Equal(4, source.Count); // 0, 1.5, 3.0, 4.5 s
        foreach (var o in outputs) Assert.Equal(source, await KeyframeTimesAsync(o));
    }

    [Fact]
    public async Task SessionPublishesRungsWithSourceTimestamps()
    {
        var spec = new ClipSpec { Seconds = 4, Width = 320, Height = 240, GopFrames = 60 };
        string clip = await TestMedia.GetClipAsync(spec);
        var source = new LiveStream("session");
        var (session, rungReaders) = StartSession(source, lowLatency: false);

        // Publish the clip with timestamps shifted far from zero, as a stream that has been live a while.
        var sourceKeys = new List<long>();
        var shifted = new LiveStream("shift");
        using (var hubReader = shifted.OpenReader("copy", capacity: 100_000))
        {
            var fr = new FlvDemuxer(shifted);
            var bytes = await File.ReadAllBytesAsync(clip);
            Assert.True(FlvFileHeader.TryRead(bytes, out _, out int offset));
            ReadOnlyMemory<byte> rest = bytes.AsMemory(offset);
            while (FlvTag.TryRead(rest.Span, out var tag, out int c, out _))
            {
                var shiftedTag = new FlvTag(tag.Type, tag.TimestampMs + 3_600_000, tag.Data);
                Assert.True(fr.TryWrite(shiftedTag, out var err), err);
                rest = rest[c..];
            }
            shifted.Complete();
            while (await hubReader.ReadAsync() is { } f)
            {
                if (f.Kind == MediaKind.Video && f.IsKeyframe) sourceKeys.Add(f.Dts);
                source.Write(f);
            }
        }
        source.Complete();
        await session.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var (r, rung) in rungReaders.Zip(Rungs))
        {
            var keys = new List<long>();
            int frames = 0;
            VideoTrack? track = null;
            while (await r.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)) is { } f)
            {
                frames++;
                track = (VideoTrack)f.Track;
                if (f.IsKeyframe) keys.Add(f.Dts);
                f.Release();
            }
            Assert.Equal(spec.ExpectedVideoFrames, frames);
            Assert.Equal(sourceKeys, keys);
            Assert.Equal(rung.Width, track!.Width);
            Assert.Equal(rung.Height, track.Height);
        }
        Assert.Equal(0, session.Restarts);
        Assert.Equal("x264", session.Status.Backend);
        await session.DisposeAsync();
    }

    /// <summary>
    /// A source that starts at 10 fps and goes on at 30 fps (an encoder that starts slowly, a camera that settles): every
    /// rung frame keeps its source frame's timestamp to the tick. With the encoder on ffmpeg's default time base (1/the
    /// frame rate it guessed) timestamps were rounded to that rate: here a millisecond off, at a wrong guess 0.1 s.
    /// </summary>
    [Fact]
    public async Task RungsKeepEverySourceTimestampWhenTheFrameRateRisesAfterTheFirstSecond()
    {
        // Baseline: no B-frames, so a source frame's decode time is its presentation time and retiming keeps it decodable.
        var spec = new ClipSpec { Seconds = 4, Width = 320, Height = 240, GopFrames = 30, Profile = "baseline" };
        string clip = await TestMedia.GetClipAsync(spec);
        var source = new LiveStream("vfr");
        // Low latency, as the broadcast that showed it: x264's zerolatency has no B-frames either.
        var (session, rungReaders) = StartSession(source, lowLatency: true);

        // The clip's first GOP (30 frames) spread 100 ms apart, the rest 1/30 s apart as encoded; video only.
        var sourceTimes = new List<long>();
        var retimed = new LiveStream("retimed");
        using (var hubReader = retimed.OpenReader("copy", capacity: 100_000))
        {
            var demuxer = new FlvDemuxer(retimed);
            var bytes = await File.ReadAllBytesAsync(clip);
            Assert.True(FlvFileHeader.TryRead(bytes, out _, out int offset));
            ReadOnlyMemory<byte> rest = bytes.AsMemory(offset);
            int frame = 0;
            while (FlvTag.TryRead(rest.Span, out var tag, out int consumed, out _))
            {
                rest = rest[consumed..];
                if (tag.Type != FlvTagType.Video) continue;
                // The sequence header (before the first frame) keeps time 0; every coded frame after it is frame n.
                bool header = tag.Data.Length > 1 && tag.Data[1] == 0;
                int n = header ? 0 : frame++;
                uint ms = n < 30 ? (uint)(n * 100) : (uint)(3000 + (n - 30) * 1000 / 30);
                Assert.True(demuxer.TryWrite(new FlvTag(tag.Type, 60_000 + ms, tag.Data), out var error), error);
            }
            retimed.Complete();
            while (await hubReader.ReadAsync() is { } f)
            {
                if (f.Kind == MediaKind.Video) sourceTimes.Add(f.Pts);
                source.Write(f);
            }
        }
        source.Complete();
        await session.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var r in rungReaders)
        {
            var times = new List<long>();
            while (await r.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30)) is { } f)
            {
                times.Add(f.Pts);
                f.Release();
            }
            Assert.Equal(sourceTimes, times);
        }
        await session.DisposeAsync();
    }

    /// <summary>
    /// A started session on <paramref name="source"/>, with a reader on each rung: <see cref="Rungs"/> on libx264 unless
    /// the caller names its rungs and back-ends (and its settings: a 20 s hang timeout otherwise).
    /// </summary>
    internal static (TranscodeSession Session, LiveStreamReader[] RungReaders) StartSession(LiveStream source, bool lowLatency,
        IReadOnlyList<PlannedRung>? rungs = null, IReadOnlyList<EncoderBackend>? backends = null, TranscodeSessionSettings? settings = null)
    {
        var reader = source.OpenReader("transcoder", capacity: 4096);
        settings ??= new TranscodeSessionSettings("ffmpeg", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20), 0.5, TimeSpan.FromMinutes(5));
        var session = new TranscodeSession(source, reader, rungs ?? Rungs, backends ?? [new H264X264Backend()], settings, NullLogger.Instance, lowLatency);
        var rungReaders = session.Outputs.Select(o => o.Stream.OpenReader("test", capacity: 4096)).ToArray();
        session.Start();
        return (session, rungReaders);
    }

    private static async Task<List<double>> KeyframeTimesAsync(string path)
    {
        var psi = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", path })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(','))
            .Where(f => f.Length >= 2 && f[1].StartsWith('K'))
            .Select(f => double.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
    }
}
