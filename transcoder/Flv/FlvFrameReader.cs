using Broadcast.Media;
using Broadcast.Media.Codecs;

namespace Broadcast.Transcoder.Flv;

/// <summary>
/// Turns the FLV that our own ffmpeg writes for a rung (legacy H.264 video tags, AAC audio tags) back into
/// <see cref="MediaFrame"/>s on a <see cref="LiveStream"/>. Deliberately the small subset the transcoder asked ffmpeg
/// for: the full RTMP/Enhanced-RTMP demuxer lives in ingest, which the transcoder must not depend on.
/// </summary>
public sealed class FlvFrameReader(LiveStream output)
{
    private TimestampUnwrapper _unwrapper;
    private VideoTrack? _video;
    private AudioTrack? _audio;

    public LiveStream Output { get; } = output;

    public long VideoFrames { get; private set; }

    /// <summary>The last video frame's decode time (90 kHz), or null before the first.</summary>
    public long? LastVideoDts { get; private set; }

    /// <summary>Handles one tag. False with a reason when it is malformed.</summary>
    public bool TryHandle(FlvTag tag, out string? error)
    {
        error = null;
        long ms = _unwrapper.Unwrap(tag.TimestampMs);
        var data = tag.Data;
        switch (tag.Type)
        {
            case FlvTagType.Video:
                if (data.Length < 5) { error = $"video tag of {data.Length} bytes"; return false; }
                if ((data[0] & 0x80) != 0 || (data[0] & 0x0F) != 7) { error = $"video tag 0x{data[0]:X2} is not legacy H.264"; return false; }
                bool key = (data[0] >> 4) == 1;
                int cto = FlvMuxer.ReadSi24(data[2..]);
                var payload = data[5..];
                if (data[1] == 0)
                {
                    if (!MediaTrackFactory.TryCreateVideo(Codec.H264, payload, null, out var track, out error)) return false;
                    _video = track;
                    Output.SetTrack(track);
                    return true;
                }
                if (data[1] != 1 || payload.IsEmpty) return true; // end of sequence, or an empty packet
                if (_video is null) { error = "H.264 frame before its sequence header"; return false; }
                long dts = Timescales.Rescale(ms, Timescales.Milliseconds, Timescales.Video);
                int cto90 = (int)Timescales.Rescale(cto, Timescales.Milliseconds, Timescales.Video);
                Output.Write(MediaFrame.Rent(_video, dts, cto90, key, payload));
                VideoFrames++;
                LastVideoDts = dts;
                return true;
            case FlvTagType.Audio:
                if (data.Length < 2) { error = $"audio tag of {data.Length} bytes"; return false; }
                if ((data[0] >> 4) != 10) { error = $"audio format {data[0] >> 4} is not AAC"; return false; }
                if (data[1] == 0)
                {
                    if (!MediaTrackFactory.TryCreateAudio(Codec.Aac, data[2..], out var audio, out error)) return false;
                    _audio = audio;
                    Output.SetTrack(audio);
                    return true;
                }
                if (_audio is null) { error = "AAC frame before its AudioSpecificConfig"; return false; }
                Output.Write(MediaFrame.Rent(_audio, Timescales.Rescale(ms, Timescales.Milliseconds, _audio.Timescale), 0, true, data[2..]));
                return true;
            default:
                return true; // onMetaData and the like: nothing the packager needs
        }
    }
}
