using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// Feeds a <see cref="StreamPackager"/> like a transcoded ladder: 30 fps video with a keyframe every 2 s (or as
/// <see cref="IsKeyframe"/> says) into each video
/// rendition at the same times, 48 kHz AAC beside it, the clock advancing one frame at a time.
/// </summary>
internal sealed class LadderFeed(StreamPackager packager, ManualClock time, params VideoTrack[] renditions)
{
    private readonly AudioTrack _audio = TestMedia.Audio();
    private long _audioCount;

    /// <summary>Which video frames are keyframes: every 60th (2 s) unless a test says otherwise.</summary>
    public Func<int, bool> IsKeyframe { get; init; } = i => i % 60 == 0;

    /// <summary>Video frames [<paramref name="from"/>, <paramref name="to"/>) into the first <paramref name="renditionCount"/> renditions (all by default).</summary>
    public async Task FeedAsync(int from, int to, int? renditionCount = null)
    {
        int count = renditionCount ?? renditions.Length;
        for (int i = from; i < to; i++)
        {
            for (int r = 0; r < count; r++)
                await packager.PushVideoAsync(r, TestMedia.Frame(renditions[r], i * 3000L, IsKeyframe(i), r == 0 ? 500 : 100), default);
            // 1.6 AAC frames per video frame at 48 kHz.
            while (_audioCount <= (long)Math.Floor(i * 1.6))
                await packager.PushAudioAsync(TestMedia.Frame(_audio, _audioCount++ * 1024L, true, 20), default);
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
    }

    /// <summary>Video frames [<paramref name="from"/>, <paramref name="to"/>) into rendition <paramref name="index"/> alone, as a trailing rung catches up.</summary>
    public async Task FeedRenditionAsync(int index, int from, int to)
    {
        for (int i = from; i < to; i++)
            await packager.PushVideoAsync(index, TestMedia.Frame(renditions[index], i * 3000L, IsKeyframe(i), 100), default);
    }
}
