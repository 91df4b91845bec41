using Broadcast.Media.Flv;
using Broadcast.Media;

namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// The onMetaData object a publisher sends (FLV spec E.5): size, frame rate, codec ids and audio format, from the
/// tracks themselves rather than from whatever the original encoder wrote. Enhanced RTMP codecs are named by their
/// FourCC as a number (videocodecid = 'hvc1').
/// </summary>
public static class RtmpMetadata
{
    public const double AvcCodecId = FlvVideoTagHeader.CodecIdAvc;
    public const double AacCodecId = (double)FlvSoundFormat.Aac;

    public static AmfObject From(VideoTrack? video, AudioTrack? audio, string encoder = "Broadcast")
    {
        var metadata = new AmfObject();
        if (video is not null)
        {
            metadata["width"] = (double)video.Width;
            metadata["height"] = (double)video.Height;
            if (video.FrameRate is { } rate && rate.Denominator > 0) metadata["framerate"] = (double)rate.Numerator / rate.Denominator;
            metadata["videocodecid"] = video.Codec switch
            {
                Codec.H265 => (double)FlvVideoTagHeader.FourCcHvc1,
                Codec.Av1 => (double)FlvVideoTagHeader.FourCcAv01,
                _ => AvcCodecId,
            };
        }
        if (audio is not null)
        {
            metadata["audiocodecid"] = AacCodecId;
            metadata["audiosamplerate"] = (double)audio.SampleRate;
            metadata["audiochannels"] = (double)audio.Channels;
            metadata["stereo"] = audio.Channels >= 2;
        }
        metadata["encoder"] = encoder;
        return metadata;
    }
}
