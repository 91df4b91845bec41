using System.Diagnostics;
using System.Globalization;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Compositor.Tests.Inputs;

/// <summary>The RTP input: its SDP, the size read from ffmpeg's output description, and real RTP from an ffmpeg sender decoded.</summary>
[Trait("Kind", "Component")]
public sealed class RtpInputDecoderTests
{
    // Generous: ffmpeg's start and its first decoded picture took over 20 s on a clean-clone run beside the Docker checks.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public void TheSdpDescribesBothPortsAndTheirEncodings()
    {
        string vp8 = RtpInputDecoder.Sdp(new RtpFeed("VP8", HasAudio: true, () => { }), 40000, 40002);
        Assert.Contains("c=IN IP4 127.0.0.1\r\n", vp8, StringComparison.Ordinal);
        Assert.Contains("m=video 40000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n", vp8, StringComparison.Ordinal);
        Assert.Contains("m=audio 40002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", vp8, StringComparison.Ordinal);

        string h264 = RtpInputDecoder.Sdp(new RtpFeed("H264", HasAudio: false, () => { }), 40000, 40002);
        Assert.Contains("a=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\n", h264, StringComparison.Ordinal);
        Assert.DoesNotContain("m=audio", h264, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() =>
        {
            var decoder = new RtpInputDecoder("x", Options(), NullLogger.Instance);
            decoder.Feed(new RtpFeed("AV1", true, () => { }));
        });
    }

    [Theory]
    [InlineData("  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p(progressive), 480x360 [SAR 1:1 DAR 4:3], q=2-31, 62208 kb/s, 30 fps, 30 tbn", 480, 360)]
    [InlineData("  Stream #0:0: Video: rawvideo (I420 / 0x30323449), yuv420p, 1280x720, q=2-31, 30 fps", 1280, 720)]
    public async Task TheRawSizeIsReadFromTheOutputDescriptionOnly(string outputLine, int width, int height)
    {
        var size = new RtpInputDecoder.RawOutputSize();
        size.Observe("Input #0, sdp, from '/tmp/x.sdp':");
        size.Observe("  Stream #0:0: Video: vp8, yuv420p(progressive), 640x480, 30 tbr, 90k tbn");
        Assert.False(size.Known.IsCompleted);
        size.Observe("Output #0, rawvideo, to 'pipe:1':");
        size.Observe("  Metadata:");
        size.Observe(outputLine);
        Assert.True(size.Known.IsCompletedSuccessfully);
        Assert.Equal(new PixelSize(width, height), await size.Known);
    }

    [Theory]
    [InlineData("  Stream #0:0: Video: rawvideo, yuv420p, 0x720")]
    [InlineData("  Stream #0:0: Video: rawvideo, yuv420p, 99999x720")]
    [InlineData("  Stream #0:1: Audio: pcm_f32le, 48000 Hz, stereo")]
    [InlineData("garbage \u0000\u00ff 1x1")]
    public void AMalformedOrForeignLineGivesNoSize(string line)
    {
        var size = new RtpInputDecoder.RawOutputSize();
        size.Observe("Output #0, rawvideo, to 'pipe:1':");
        size.Observe(line);
        Assert.False(size.Known.IsCompleted);
    }

    [Fact]
    public async Task DecodesAFeedGoesMissingWhenItStallsOrLeavesAndTakesTheNextFeed()
    {
        await using var decoder = new RtpInputDecoder("guest", Options(), NullLogger.Instance);
        decoder.Start();
        int keyframeRequests = 0;
        var red = RtpSender.Start("red", 440, decoder.VideoPort, decoder.AudioPort);
        try
        {
            decoder.Feed(new RtpFeed("VP8", HasAudio: true, () => Interlocked.Increment(ref keyframeRequests)));
            await WaitFor.ConditionAsync(() => decoder.IsPresent && decoder.Audio.Count >= 4096 * 2, Bound, "the RTP feed's pictures and samples decoded", red.Tail);
            Assert.True(Volatile.Read(ref keyframeRequests) >= 1, "the sender was asked for a keyframe");
            Assert.True(decoder.Received.Video > 0 && decoder.Received.Audio > 0, "the held ports received the sender's RTP");
            AssertColour(decoder, y: 81, u: 90, v: 240);
            var samples = new float[4096 * 2];
            Assert.True(decoder.Audio.TryRead(samples));
            Assert.True(ToneLevel.Amplitude(samples, 440) > 0.05, "the 440 Hz tone is in the decoded samples");
        }
        finally
        {
            red.Dispose();
        }

        // The sender went quiet but still feeds the input: missing after the stall timeout.
        await WaitFor.ConditionAsync(() => !decoder.IsPresent, Bound, "the input missing once its RTP stopped");
        decoder.Feed(null);

        using var blue = RtpSender.Start("blue", 880, decoder.VideoPort, decoder.AudioPort);
        decoder.Feed(new RtpFeed("VP8", HasAudio: true, () => { }));
        await WaitFor.ConditionAsync(() => decoder.IsPresent, Bound, "the next feed decoded", blue.Tail);
        // Pure blue in BT.601 limited range is Y 41, U 240, V 110.
        AssertColour(decoder, y: 41, u: 240, v: 110);
        decoder.Feed(null);
        await WaitFor.ConditionAsync(() => !decoder.IsPresent, Bound, "the input missing once nobody feeds it");
    }

    private static InputDecoderOptions Options() => new("ffmpeg", new PixelSize(640, 360), new ProgramClock(30));

    private static void AssertColour(RtpInputDecoder decoder, int y, int u, int v)
    {
        var frame = decoder.Video!.Read()!;
        // 640x480 fitted within 640x360.
        Assert.Equal(new PixelSize(480, 360), frame.Size);
        int centre = (frame.Height / 2 * frame.Width) + (frame.Width / 2);
        int chroma = (frame.ChromaHeight / 2 * frame.ChromaWidth) + (frame.ChromaWidth / 2);
        Assert.InRange(frame.Y[centre], y - 6, y + 6);
        Assert.InRange(frame.U[chroma], u - 6, u + 6);
        Assert.InRange(frame.V[chroma], v - 6, v + 6);
    }
}
