using Broadcast.Media.Codecs;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// One ADTS AAC elementary stream's PES payloads into raw AAC frames (ISO/IEC 13818-7 ADTS, ISO/IEC 13818-1 2.4.3.7 PTS):
/// the AudioSpecificConfig comes from each ADTS header (a new track when it changes) and the timestamps from the PES's
/// 33-bit PTS, unwrapped per stream. Writes to the hub's own audio, or, for an alternate track, to that track's hub
/// through the broadcast's timeline (<see cref="LiveStream.WriteAlternateAudio"/>).
/// </summary>
internal sealed class AdtsAudioWriter(LiveStream stream, LiveStream? alternate)
{
    private AudioTrack? _track;
    private PtsUnwrapper _clock;

    /// <summary>The hub of the alternate track this stream feeds; null for the hub's own audio.</summary>
    public LiveStream? Alternate { get; } = alternate;

    public bool TryWrite(in PesHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        long pts = _clock.Unwrap(header.Pts);
        int index = 0;
        Span<byte> config = stackalloc byte[2];
        while (!payload.IsEmpty)
        {
            if (!AdtsHeader.TryRead(payload, out var adts, out int headerLength))
            {
                error = $"malformed ADTS header in the audio PES ({payload.Length} bytes left)";
                return false;
            }
            if (adts.FrameLength > payload.Length)
            {
                error = $"ADTS frame of {adts.FrameLength} bytes runs past its PES ({payload.Length} bytes left)";
                return false;
            }
            if (adts.RawDataBlocks != 0 || adts.ChannelConfiguration == 0)
            {
                error = adts.RawDataBlocks != 0
                    ? $"ADTS frames with {adts.RawDataBlocks + 1} raw data blocks are not supported"
                    : "ADTS channel configuration 0 (channels in a program config element) is not supported";
                return false;
            }
            adts.WriteAudioSpecificConfig(config);
            if (_track is null || !_track.DecoderConfig.Span.SequenceEqual(config))
            {
                if (!MediaTrackFactory.TryCreateAudio(Codec.Aac, config, out var track, out error)) return false;
                _track = track;
                (Alternate ?? stream).SetTrack(track);
            }
            // Frames after the first in one PES follow it by one frame's samples each (the PTS names the first).
            long dts = Timescales.Rescale(pts, Timescales.Video, _track.Timescale) + (long)index * _track.SamplesPerFrame;
            var body = payload[headerLength..adts.FrameLength];
            if (!body.IsEmpty)
            {
                var frame = MediaFrame.Rent(_track, dts, 0, true, body);
                if (Alternate is null) stream.Write(frame);
                else stream.WriteAlternateAudio(Alternate, frame);
            }
            payload = payload[adts.FrameLength..];
            index++;
        }
        return true;
    }
}
