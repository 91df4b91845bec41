using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Transcoder.Tests;

/// <summary>
/// A transcoder restart while ffmpeg lags its input (the source arrives faster than it encodes, as on a loaded machine):
/// the restarted ffmpeg's input goes on from the frame after the last one the dead one was given, replaying the kept GOPs
/// before it, so the rungs keep the source's timestamps. With a reader opened per run, the source between that frame and
/// the live edge was skipped, and ffmpeg closed the hole by restamping everything after it: every rung ran seconds behind
/// its source and its segment numbers no longer matched.
/// </summary>
[Trait("Kind", "Component")]
public class TranscodeRestartTests
{
    [Fact]
    public async Task A_restart_behind_the_live_edge_keeps_every_rung_on_the_source_timestamps()
    {
        // Large pictures at a high rate: ffmpeg's stdin pipe holds a few of them, so the rest waits in the session's reader.
        var spec = new ClipSpec { Seconds = 10, Width = 1280, Height = 720, VideoBitrateKbps = 6000, GopFrames = 60 };
        var frames = await FlvClipFrames.ReadAsync(await TestMedia.GetClipAsync(spec));
        var video = frames.Where(f => f.Kind == MediaKind.Video).ToList();
        var sourceKeys = video.Where(f => f.IsKeyframe).Select(f => f.Dts).ToList();
        long sourceLast = video[^1].Dts;
        int videoFrames = video.Count;
        long cut = video[0].Dts + 6 * Timescales.Video;

        var source = new LiveStream("restart");
        var (session, rungReaders) = TranscodeSessionTests.StartSession(source, lowLatency: false);
        var collected = rungReaders.Select(r => CollectAsync(r)).ToArray();
        // Six of the ten seconds at once: far more than ffmpeg has taken when its first rung frame comes out.
        int half = frames.FindIndex(f => f.Kind == MediaKind.Video && f.Dts >= cut);
        foreach (var f in frames.Take(half)) source.Write(f);
        await WaitUntilAsync(() => session.Outputs.All(o => o.LastDts is not null), "the first rung frames");
        System.Diagnostics.Process.GetProcessById(session.ProcessId!.Value).Kill();
        await WaitUntilAsync(() => session.Restarts == 1 && session.ProcessId is not null, "the restart");
        foreach (var f in frames.Skip(half)) source.Write(f);
        source.Complete();
        await session.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        foreach (var rung in await Task.WhenAll(collected))
        {
            // The restarted run re-encodes the replayed GOPs: what the rendition keeps is each frame after the last one kept.
            var kept = new List<(long Dts, bool IsKeyframe)>();
            foreach (var f in rung)
                if (kept.Count == 0 || f.Dts > kept[^1].Dts) kept.Add(f);
            Assert.Equal(sourceKeys, kept.Where(f => f.IsKeyframe).Select(f => f.Dts));
            Assert.Equal(sourceLast, kept[^1].Dts);
            Assert.Equal(videoFrames, kept.Count);
        }
        await session.DisposeAsync();
    }

    private static async Task<List<(long Dts, bool IsKeyframe)>> CollectAsync(LiveStreamReader reader)
    {
        var frames = new List<(long, bool)>();
        while (await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2)) is { } f)
        {
            if (f.Kind == MediaKind.Video) frames.Add((f.Dts, f.IsKeyframe));
            f.Release();
        }
        return frames;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 60 s for {what}");
            await Task.Delay(20);
        }
    }
}
