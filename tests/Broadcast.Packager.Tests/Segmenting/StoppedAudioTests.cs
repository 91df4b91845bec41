using Broadcast.Media;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Tests.Segmenting;

/// <summary>
/// An audio track that stops while the picture goes on (an encoder's second language switched off, then on again): what it
/// held goes out in its segment without waiting for the end of the broadcast, the numbers while it is silent pass with no
/// segment of it (the playlists list them as gaps), it comes back at the video's numbers, and the other renditions never
/// notice. 30 fps video with a keyframe every 2 s, AAC at 48 kHz on both tracks; the alternate is silent from 6 s to 21 s.
/// </summary>
public sealed class StoppedAudioTests
{
    private const int Hz = Timescales.Video;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_stopped_track_closes_what_it_held_passes_the_silent_numbers_and_resumes_in_step(bool lowLatency)
    {
        using var s = lowLatency ? new StreamSegmenter(["source"], "audio", ["audio-fr"], 2, Hz / 2) : new StreamSegmenter(["source"], "audio", ["audio-fr"], 2);
        var video = TestMedia.Video();
        var audio = TestMedia.Audio();
        var output = new List<ClosedSegment>();
        long audioCount = 0;
        long? frenchClosedAtVideoMs = null;
        bool stoppedSeen = false;
        for (int i = 0; i < 30 * 40; i++)
        {
            long ms = (long)Math.Round(i * 1000.0 / 30);
            s.PushVideo(0, TestMedia.Frame(video, ms * 90, i % 60 == 0), output);
            for (; audioCount * 1024 * 1000 / 48000 <= ms; audioCount++)
            {
                s.PushAudio(0, TestMedia.Frame(audio, audioCount * 1024, true, 20), output);
                long audioMs = audioCount * 1024 * 1000 / 48000;
                if (audioMs < 6000 || audioMs >= 21000) s.PushAudio(1, TestMedia.Frame(audio, audioCount * 1024, true, 20), output);
            }
            if (frenchClosedAtVideoMs is null && output.Any(x => x.Rendition == "audio-fr" && x.Number == 3)) frenchClosedAtVideoMs = ms;
            stoppedSeen |= s.StoppedAudio is ["audio-fr"];
        }
        // A frame late for segments already closed (the track "catching up") is not let back into them.
        s.PushAudio(1, TestMedia.Frame(audio, 10 * 48000, true, 20), output);
        s.Flush(output);
        try
        {
            var videoSegments = output.Where(x => x.Rendition == "source").ToList();
            var main = output.Where(x => x.Rendition == "audio").ToList();
            var french = output.Where(x => x.Rendition == "audio-fr").ToList();
            Assert.Equal(videoSegments.Select(x => x.Number), main.Select(x => x.Number));

            // Segment 3 (4 to 6 s) held the last French audio: closed once the picture ran 10 s past it, not at the end.
            Assert.NotNull(frenchClosedAtVideoMs);
            Assert.InRange(frenchClosedAtVideoMs!.Value, 16_000, 19_000);
            Assert.True(stoppedSeen);
            Assert.Empty(s.StoppedAudio);
            Assert.Equal(1, s.AudioStops);

            // 6 to 21 s silent: numbers 4 to 10 pass with no French segment. Segment 11 (20 to 22 s) starts at its first frame
            // back, mid-way through the video's; from 12 on the numbers and starts are the video's again.
            long[] expected = [1, 2, 3, .. Enumerable.Range(11, videoSegments.Count - 10).Select(n => (long)n)];
            Assert.Equal(expected, french.Select(x => x.Number));
            // Its last frame starts before 6 s and lasts one frame: the silence after it is not stretched into the segment.
            Assert.InRange(french[2].StartTime + french[2].Duration, 6 * 48000, 6 * 48000 + 1024);
            foreach (var f in french.Skip(4))
            {
                long videoStart = videoSegments.Single(v => v.Number == f.Number).StartTime;
                Assert.InRange(Timescales.Rescale(f.StartTime, 48000, Hz), videoStart - 1920, videoStart + 1920); // within a frame
            }
            Assert.InRange(Timescales.Rescale(french[3].StartTime, 48000, Hz), 21 * Hz - 2000, 21 * Hz + 2000);
            Assert.DoesNotContain(french, x => x.Discontinuity);
        }
        finally { output.ForEach(x => x.Dispose()); }
    }
}
