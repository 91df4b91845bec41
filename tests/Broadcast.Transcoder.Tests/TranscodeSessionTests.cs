using System.Diagnostics;
using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Encoding;
using Broadcast.Media.Flv;
using Broadcast.Transcoder.Ladder;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Transcoder.Tests;

/// <summary>Component tests with the real ffmpeg: keyframe alignment and the supervised session end to end (no server).</summary>
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
        var reader = source.OpenReader("transcoder", capacity: 4096);
        var settings = new TranscodeSessionSettings("ffmpeg", TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20), 0.5, TimeSpan.FromMinutes(5));
        var session = new TranscodeSession(source, reader, Rungs, [new H264X264Backend()], settings, NullLogger.Instance);
        var rungReaders = session.Outputs.Select(o => o.Stream.OpenReader("test", capacity: 4096)).ToArray();
        session.Start();

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
