namespace Broadcast.TestSupport;

/// <summary>The video codec of one rendition of a <see cref="TestOnlyMultitrackRtmpSender"/> ladder.</summary>
public enum MultitrackVideoCodec
{
    /// <summary>libx264 into FLV; sent as FourCC 'avc1'.</summary>
    H264,

    /// <summary>
    /// libx265 into a raw Annex B stream (Debian's ffmpeg 5.1 refuses HEVC in FLV: "Video codec hevc not compatible with flv");
    /// sent as FourCC 'hvc1'.
    /// </summary>
    H265,
}

/// <summary>
/// How the video tracks are laid out in messages. The values are Enhanced RTMP v2's AvMultitrackType, the high nibble of the
/// byte after the ExVideoTagHeader's first byte.
/// </summary>
public enum MultitrackVideoLayout : byte
{
    /// <summary>One message per track per timestamp, each naming its own FourCC and trackId.</summary>
    OneTrack = 0,

    /// <summary>One message per timestamp carrying every track; all tracks share one FourCC.</summary>
    ManyTracks = 1,

    /// <summary>One message per timestamp carrying every track, each track naming its own FourCC (HEVC beside AVC).</summary>
    ManyTracksManyCodecs = 2,
}

/// <summary>
/// One rung of the ladder: picture size, bitrate and codec. Its trackId is its index in <see cref="MultitrackRenditions.Renditions"/>.
/// </summary>
public sealed record MultitrackRendition(int Width, int Height, int BitrateKbps)
{
    public MultitrackVideoCodec Codec { get; init; } = MultitrackVideoCodec.H264;

    /// <summary>
    /// Frames between this rendition's keyframes; null takes the ladder's <see cref="MultitrackRenditions.KeyframeIntervalFrames"/>.
    /// Any other interval puts its keyframes where the other renditions have none: the misaligned ladder a server must refuse.
    /// </summary>
    public int? KeyframeIntervalFrames { get; init; }
}

/// <summary>
/// What <see cref="TestOnlyMultitrackRtmpSender"/> encodes and how it sends it. Every rendition comes from one source at one
/// frame rate with keyframes at the same frames, so the renditions' frames share timestamps and can travel in one message.
/// </summary>
public sealed record MultitrackRenditions
{
    /// <summary>The one frame rate of every rendition: frames at equal indexes have equal timestamps only if it is shared.</summary>
    public const int FramesPerSecond = 30;

    public const int AudioSampleRate = 48000;

    public const int AudioChannels = 2;

    /// <summary>1080p, 720p and 360p H.264, trackIds 0, 1 and 2.</summary>
    public static IReadOnlyList<MultitrackRendition> DefaultLadder { get; } =
    [
        new(1920, 1080, 4500),
        new(1280, 720, 2500),
        new(640, 360, 800),
    ];

    /// <summary>Track 0 first: it is the default track (the spec recommends trackId 0 for it) and the one onMetaData describes.</summary>
    public IReadOnlyList<MultitrackRendition> Renditions { get; init; } = DefaultLadder;

    /// <summary>How much media is encoded and then sent in real time; the sender stops after it (unless <see cref="Loops"/>).</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How many times the encoded media is sent, each time with its timestamps moved on by <see cref="Duration"/>: a long
    /// stream for a test that waits on a player, without encoding all of it (1 to 20).
    /// </summary>
    public int Loops { get; init; } = 1;

    /// <summary>The ladder's keyframe interval: 60 frames, 2 s at 30 fps, as a segmenter cutting 2 s segments wants.</summary>
    public int KeyframeIntervalFrames { get; init; } = 2 * FramesPerSecond;

    /// <summary>
    /// A clip to encode instead of the lavfi testsrc2 pattern (looped if shorter than <see cref="Duration"/>); its audio is not used.
    /// </summary>
    public string? SourceClipPath { get; init; }

    /// <summary>The AAC sine tone's frequency, carried with the first H.264 rendition.</summary>
    public int ToneHz { get; init; } = 1000;

    public MultitrackVideoLayout Layout { get; init; } = MultitrackVideoLayout.ManyTracks;

    /// <summary>
    /// When set, a second AAC track (trackId 1) of a sine at this frequency is encoded, and both audio tracks are sent as
    /// Enhanced RTMP v2 multitrack audio messages (FourCC 'mp4a') laid out as <see cref="AudioLayout"/>. Null (the default):
    /// one audio track, sent as the legacy AAC tags ffmpeg wrote.
    /// </summary>
    public int? SecondAudioToneHz { get; init; }

    /// <summary>
    /// The AvMultitrackType of the multitrack audio messages (audio shares the enum with video): OneTrack sends one message per
    /// track per frame, ManyTracks one message carrying both tracks' frames at their shared timestamp. Only with
    /// <see cref="SecondAudioToneHz"/>; ManyTracksManyCodecs is not offered (both tracks are AAC).
    /// </summary>
    public MultitrackVideoLayout AudioLayout { get; init; } = MultitrackVideoLayout.ManyTracks;

    /// <summary>
    /// Send coded frames as CodedFramesX (no SI24 composition time) when every track's composition time is zero, which it
    /// always is here (no B-frames): exercises the other coded-frame packet type. Off: CodedFrames with an explicit zero.
    /// </summary>
    public bool UseCodedFramesX { get; init; }

    /// <summary>
    /// With <see cref="MultitrackVideoLayout.OneTrack"/>: track 0 travels as a plain single-track enhanced tag (byte 0, its
    /// FourCC, its body) and only the other tracks as multitrack messages, as OBS's own muxer sends them.
    /// </summary>
    public bool DefaultTrackAsPlainTag { get; init; }

    /// <summary>The same ladder with rendition 0 in HEVC, sent with a FourCC per track (the only layout that mixes codecs in one message).</summary>
    public MultitrackRenditions WithHevcTopRendition() => this with
    {
        Renditions = [Renditions[0] with { Codec = MultitrackVideoCodec.H265 }, .. Renditions.Skip(1)],
        Layout = MultitrackVideoLayout.ManyTracksManyCodecs,
    };

    /// <summary>The same ladder with one rendition's keyframes every <paramref name="keyframeIntervalFrames"/> frames instead.</summary>
    public MultitrackRenditions WithMisalignedKeyframes(int renditionIndex, int keyframeIntervalFrames = 45)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(renditionIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(renditionIndex, Renditions.Count);
        return this with
        {
            Renditions = Renditions.Select((r, i) => i == renditionIndex ? r with { KeyframeIntervalFrames = keyframeIntervalFrames } : r).ToArray(),
        };
    }

    /// <summary>Throws when the options cannot be encoded or sent as asked.</summary>
    public void Validate()
    {
        if (Renditions.Count is 0 or > 255) throw new ArgumentException("A ladder has 1 to 255 renditions (a trackId is one byte).");
        if (Duration <= TimeSpan.Zero || Duration > TimeSpan.FromMinutes(5))
            throw new ArgumentException("Duration is above zero and at most 5 minutes: everything is encoded before sending.");
        if (Loops is < 1 or > 20) throw new ArgumentException("Loops is 1 to 20.");
        if (Loops > 1 && Duration.TotalMilliseconds % 1 != 0) throw new ArgumentException("A looped Duration is whole milliseconds.");
        foreach (var r in Renditions)
        {
            // yuv420p needs even sizes.
            if (r.Width <= 0 || r.Height <= 0 || r.Width % 2 != 0 || r.Height % 2 != 0)
                throw new ArgumentException($"{r.Width}x{r.Height} is not an even picture size.");
            if (r.BitrateKbps <= 0) throw new ArgumentException("A bitrate is above zero.");
        }
        if (DefaultTrackAsPlainTag && Layout != MultitrackVideoLayout.OneTrack)
            throw new ArgumentException("DefaultTrackAsPlainTag sends one message per track: it needs the OneTrack layout.");
        if (Layout == MultitrackVideoLayout.ManyTracks && Renditions.Select(r => r.Codec).Distinct().Count() > 1)
            throw new ArgumentException("ManyTracks shares one FourCC between the tracks; mixed codecs need ManyTracksManyCodecs or OneTrack.");
        if (SecondAudioToneHz is { } hz && (hz <= 0 || hz >= AudioSampleRate / 2 || hz == ToneHz))
            throw new ArgumentException("SecondAudioToneHz is a tone below the Nyquist frequency and unlike ToneHz, so the tracks differ.");
        if (AudioLayout is not (MultitrackVideoLayout.OneTrack or MultitrackVideoLayout.ManyTracks))
            throw new ArgumentException("AudioLayout is OneTrack or ManyTracks: both audio tracks are AAC.");
    }
}
