using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Transcoder.Tests;

/// <summary>
/// The transcoder's hang watchdog (ffmpeg that writes no rung frame for the hang timeout is killed and restarted) against
/// a source that stops sending: an encoder paused or its uplink stalled with the connection open. ffmpeg then has nothing
/// to encode, so its silence is no hang; killing it there cut every rung with a discontinuity (a new DASH Period) on each
/// pause of a few seconds. An ffmpeg that stops while its source goes on is still killed and restarted.
/// </summary>
[Trait("Kind", "Component")]
public class TranscodeHangTests
{
    /// <summary>A 1.5 s hang timeout (two 0.75 s segments' worth), so a pause of a few seconds is well past it.</summary>
    private static readonly TranscodeSessionSettings ShortHang = new("ffmpeg", TimeSpan.FromMilliseconds(1500), TimeSpan.FromSeconds(30),
        TimeSpan.FromSeconds(20), 0.5, TimeSpan.FromMinutes(5));

    private static readonly ClipSpec Spec = new() { Seconds = 6, Width = 320, Height = 240, GopFrames = 30 };

    [Fact]
    public async Task A_source_that_stops_sending_for_longer_than_the_hang_timeout_does_not_restart_ffmpeg()
    {
        var frames = await FlvClipFrames.ReadAsync(await TestMedia.GetClipAsync(Spec));
        int sourceVideo = frames.Count(f => f.Kind == MediaKind.Video);
        var source = new LiveStream("paused-encoder");
        var (session, rungReaders) = TranscodeSessionTests.StartSession(source, lowLatency: false, settings: ShortHang);
        var collected = rungReaders.Select(CollectVideoAsync).ToArray();
        int half = frames.Count / 2;
        foreach (var f in frames.Take(half)) source.Write(f);
        await WaitUntilAsync(() => session.Outputs.All(o => o.LastDts is not null), "the first rung frames");

        // The encoder pauses: nothing is written for twice the hang timeout and more (the stimulus, not a wait for a condition).
        await Task.Delay(ShortHang.HangTimeout * 3);
        Assert.Equal(0, session.Restarts);

        foreach (var f in frames.Skip(half)) source.Write(f);
        source.Complete();
        await session.Completion.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(0, session.Restarts);
        foreach (var rung in await Task.WhenAll(collected)) Assert.Equal(sourceVideo, rung);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task An_ffmpeg_that_stops_while_its_source_goes_on_is_killed_and_restarted()
    {
        var frames = await FlvClipFrames.ReadAsync(await TestMedia.GetClipAsync(Spec));
        var source = new LiveStream("hung-ffmpeg");
        var (session, rungReaders) = TranscodeSessionTests.StartSession(source, lowLatency: false, settings: ShortHang);
        var drained = rungReaders.Select(CollectVideoAsync).ToArray();
        int i = 0;
        for (; i < frames.Count / 3; i++) source.Write(frames[i]);
        await WaitUntilAsync(() => session.Outputs.All(o => o.LastDts is not null), "the first rung frames");

        // ffmpeg stops where it stands (SIGSTOP) while the source keeps sending at its own pace (a frame each 33 ms).
        int frozen = session.ProcessId!.Value;
        using (var stop = System.Diagnostics.Process.Start("kill", ["-STOP", frozen.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await stop!.WaitForExitAsync();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (session.Restarts == 0 && DateTime.UtcNow < deadline && i < frames.Count)
        {
            source.Write(frames[i++]);
            await Task.Delay(33);
        }
        Assert.Equal(1, session.Restarts);
        for (; i < frames.Count; i++) source.Write(frames[i]);
        source.Complete();
        await session.Completion.WaitAsync(TimeSpan.FromMinutes(2));
        await Task.WhenAll(drained);
        await session.DisposeAsync();
    }

    private static async Task<int> CollectVideoAsync(LiveStreamReader reader)
    {
        var seen = new HashSet<long>();
        while (await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromMinutes(2)) is { } f)
        {
            if (f.Kind == MediaKind.Video) seen.Add(f.Dts);
            f.Release();
        }
        return seen.Count;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        await WaitFor.ConditionAsync(() => Task.FromResult(condition()), TimeSpan.FromSeconds(60), what);
    }
}
