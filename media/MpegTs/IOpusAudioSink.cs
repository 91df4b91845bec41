namespace Broadcast.Media.MpegTs;

/// <summary>
/// Takes the Opus audio of an MPEG-TS program. The hub carries what an RTMP publish gives (AAC), which FLV, the
/// transcoder's input, restream and the packaged renditions all read; so the demuxer does not write Opus into it but
/// hands each Opus packet to its owner, which turns it into AAC frames of the same stream.
/// </summary>
public interface IOpusAudioSink
{
    /// <summary>A PMT named an Opus stream of <paramref name="channels"/> channels (1–8).</summary>
    void Open(int channels);

    /// <summary>
    /// One Opus packet (valid for the call only) at <paramref name="dts"/> in 48 kHz ticks on the program's clock (the
    /// video's 90 kHz times rescaled), lasting <paramref name="samples"/>. Called on the demuxer's thread: must not block.
    /// </summary>
    void Write(long dts, ReadOnlySpan<byte> packet, int samples);
}
