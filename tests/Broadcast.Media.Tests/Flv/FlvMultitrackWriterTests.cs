using Broadcast.Media.Flv;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// One-track Enhanced RTMP v2 multitrack bodies, byte for byte against the specification's layout (enhanced-rtmp-v2,
/// ExVideoTagHeader / ExAudioTagHeader with AvMultitrackType OneTrack), and read back by the demuxer's multitrack readers.
/// </summary>
public class FlvMultitrackWriterTests
{
    private static VideoTrack Avc => FlvTagBodyWriterTests.Avc;
    private static VideoTrack Hevc => FlvTagBodyWriterTests.Hevc;
    private static VideoTrack Av1 => FlvTagBodyWriterTests.Av1;
    private static AudioTrack Aac => FlvTagBodyWriterTests.Aac;

    // name, track, track id, keyframe, composition offset (track ticks; 6000 at 90 kHz = 67 ms), sequence start (true) or frame, expected body.
    // Video's first byte: IsExHeader 1, FrameType (1 key, 2 inter), PacketType 6 (Multitrack); audio's: SoundFormat 9, AudioPacketType 5.
    // The second byte: AvMultitrackType 0 (OneTrack) and the track's packet type (0 SequenceStart, 1 CodedFrames).
    public static TheoryData<string, MediaTrack, byte, bool, int, bool, string> Cases => new()
    {
        { "AVC sequence start, track 2", Avc, 2, true, 0, true, "96 00 61766331 02 0164001F" },
        { "AVC keyframe with composition time", Avc, 2, true, 6000, false, "96 01 61766331 02 000043 AABB" },
        { "AVC inter frame, negative composition time", Avc, 5, false, -3000, false, "A6 01 61766331 05 FFFFDF AABB" },
        { "HEVC sequence start", Hevc, 1, true, 0, true, "96 00 68766331 01 010160" },
        { "HEVC coded frames", Hevc, 1, true, 6000, false, "96 01 68766331 01 000043 AABB" },
        { "AV1 coded frames: no composition time", Av1, 3, false, 0, false, "A6 01 61763031 03 AABB" },
        { "AAC sequence start, track 3", Aac, 3, true, 0, true, "95 00 6D703461 03 1190" },
        { "AAC frame, track 255", Aac, 255, true, 0, false, "95 01 6D703461 FF AABB" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, MediaTrack track, byte trackId, bool keyframe, int cto, bool sequenceStart, string hex)
    {
        var bytes = Write(track, trackId, keyframe, cto, sequenceStart);
        Assert.True(Convert.ToHexString(Hex.Bytes(hex)) == Convert.ToHexString(bytes), $"{name}: {Convert.ToHexString(bytes)}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_back_as_what_was_written(string name, MediaTrack track, byte trackId, bool keyframe, int cto, bool sequenceStart, string hex)
    {
        _ = hex;
        var body = Write(track, trackId, keyframe, cto, sequenceStart);
        byte[] expectedPayload = sequenceStart ? track.DecoderConfig.ToArray() : [0xAA, 0xBB];
        if (track.Kind == MediaKind.Video)
        {
            Assert.True(FlvVideoMultitrackReader.TryCreate(body, out var reader, out string? error), $"{name}: {error}");
            Assert.Equal(FlvMultitrackType.OneTrack, reader.Type);
            Assert.True(reader.TryReadNext(out var packet, out error), $"{name}: {error}");
            Assert.Equal(trackId, packet.TrackId);
            Assert.Equal(track.Codec, packet.Header.Codec);
            Assert.Equal(keyframe, packet.Header.IsKeyframe);
            Assert.Equal(sequenceStart ? FlvVideoPacketType.SequenceStart : FlvVideoPacketType.CodedFrames, packet.Header.PacketType);
            Assert.Equal(sequenceStart ? 0 : Timescales.Rescale(cto, track.Timescale, Timescales.Milliseconds), packet.Header.CompositionTimeMs);
            Assert.Equal(expectedPayload, packet.Payload.ToArray());
            Assert.False(reader.TryReadNext(out _, out error));
            Assert.Null(error);
        }
        else
        {
            Assert.True(FlvAudioTagHeader.TryRead(body, out var header, out _));
            Assert.Equal(FlvSoundFormat.ExHeader, header.SoundFormat);
            Assert.True(FlvMultitrackTracks.TryCreate(body, "audio", out byte packetType, out var tracks, out string? error), $"{name}: {error}");
            Assert.Equal(sequenceStart ? 0 : 1, packetType);
            Assert.True(tracks.TryReadNext(out byte id, out uint fourCc, out var data, out error), $"{name}: {error}");
            Assert.Equal(trackId, id);
            Assert.Equal("mp4a", FlvVideoTagHeader.FourCcToString(fourCc));
            Assert.Equal(expectedPayload, data.ToArray());
            Assert.False(tracks.TryReadNext(out _, out _, out _, out error));
            Assert.Null(error);
        }
    }

    [Fact]
    public void Codecs_that_rtmp_cannot_carry_are_refused()
    {
        var opus = new AudioTrack(Codec.Opus, new byte[] { 1 }, "opus", 48000, 2);
        Assert.False(FlvMultitrackWriter.CanCarry(opus));
        Assert.True(FlvMultitrackWriter.CanCarry(Avc) && FlvMultitrackWriter.CanCarry(Aac));
    }

    private static byte[] Write(MediaTrack track, byte trackId, bool keyframe, int cto, bool sequenceStart)
    {
        var frame = MediaFrame.Rent(track, 90_000, cto, keyframe, new byte[] { 0xAA, 0xBB });
        try
        {
            return Hex.Written(w =>
            {
                if (sequenceStart) FlvMultitrackWriter.WriteSequenceStart(w, track, trackId);
                else FlvMultitrackWriter.WriteFrame(w, frame, trackId);
            });
        }
        finally
        {
            frame.Release();
        }
    }
}
