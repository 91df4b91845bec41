using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// The test-only multitrack sender's encoding step against a real ffmpeg run (a component test), and the schedule it
/// builds from what ffmpeg encoded.
/// </summary>
[Trait("Kind", "Component")]
public sealed class MultitrackRenditionEncoderTests
{
    private const uint Avc1 = 0x61766331;
    private const uint Hvc1 = 0x68766331;

    [Fact]
    public async Task Encoding_gives_every_rendition_the_same_frames_and_keyframes_unless_one_is_set_apart()
    {
        var options = new MultitrackRenditions
        {
            Renditions = [new(320, 180, 400), new(256, 144, 300), new(160, 90, 150)],
            Duration = TimeSpan.FromSeconds(3),
        }.WithHevcTopRendition().WithMisalignedKeyframes(2, 45);

        var encoding = await MultitrackRenditionEncoder.EncodeAsync(options, CancellationToken.None);

        Assert.Equal([Hvc1, Avc1, Avc1], encoding.Tracks.Select(t => t.FourCc).ToArray());
        Assert.Equal([(byte)0, (byte)1, (byte)2], encoding.Tracks.Select(t => t.TrackId).ToArray());
        Assert.All(encoding.Tracks, t => Assert.Equal(90, t.Frames.Count));
        Assert.Equal(1, encoding.Tracks[0].DecoderConfiguration[0]); // configurationVersion of hvcC and avcC alike
        Assert.Equal(1, encoding.Tracks[1].DecoderConfiguration[0]);
        for (int n = 0; n < 90; n++)
        {
            Assert.Equal(encoding.Tracks[1].Frames[n].TimestampMs, encoding.Tracks[0].Frames[n].TimestampMs);
            Assert.Equal(encoding.Tracks[1].Frames[n].TimestampMs, encoding.Tracks[2].Frames[n].TimestampMs);
        }
        Assert.Equal([0, 60], KeyframeIndexes(encoding.Tracks[0]));
        Assert.Equal([0, 60], KeyframeIndexes(encoding.Tracks[1]));
        Assert.Equal([0, 45], KeyframeIndexes(encoding.Tracks[2]));
        // The AAC came with the first H.264 rendition: its sequence header first.
        Assert.Equal(new byte[] { 0xAF, 0x00 }, encoding.Audio[0].Body[..2]);

        // Frames 45 and 60 are where the tracks disagree, so they travel as OneTrack messages; the rest as one message each.
        var video = TestOnlyMultitrackRtmpSender.BuildSchedule(encoding, options).Where(m => m.IsVideo).ToArray();
        Assert.Equal(1 + 88 + 2 * 3, video.Length);
        Assert.Equal(0x20, video[0].Body[1]); // ManyTracksManyCodecs SequenceStart
        Assert.Equal(6, video.Count(m => m.Body[1] >> 4 == 0));
    }

    private static int[] KeyframeIndexes(MultitrackEncodedTrack track) =>
        track.Frames.Select((f, n) => (f, n)).Where(x => x.f.IsKeyframe).Select(x => x.n).ToArray();
}
