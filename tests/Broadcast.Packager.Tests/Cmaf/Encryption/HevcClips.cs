using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>One libx265 clip: its fragmented MP4 (for ffmpeg), its track and its samples (for the packager).</summary>
public sealed record HevcClip(string Name, string File, VideoTrack Track, IReadOnlyList<ExpectedSample> Samples)
{
    public override string ToString() => Name;
}

/// <summary>The NAL units of a sample with 4-byte lengths, as ffmpeg's muxers write AVC and HEVC samples.</summary>
internal static class NalUnits
{
    public static IEnumerable<byte[]> Of(byte[] sample)
    {
        for (int at = 0; at < sample.Length;)
        {
            int length = sample[at] << 24 | sample[at + 1] << 16 | sample[at + 2] << 8 | sample[at + 3];
            yield return sample[(at + 4)..(at + 4 + length)];
            at += 4 + length;
        }
    }
}

/// <summary>
/// libx265 clips (Debian's ffmpeg 5.1 has it, 8, 10 and 12 bits) of one second of a fading test pattern (the fade is what
/// makes x265 send weights), each made once, on first use, for the slice header features the packager must measure: I, P
/// and B slices with a B pyramid, weighted prediction (weightp, weightb), several slices per picture, wavefront entry
/// points, in-band parameter sets, access unit delimiters, SEI, HRD parameters in the VUI, two temporal sub-layers (TSA
/// pictures), open GOPs (CRA with RASL), RADL pictures, Main 10, 4:2:2 10-bit, 4:4:4 and monochrome. x265 cannot make
/// tiles, dependent slice segments, long-term reference pictures or reference picture sets in the SPS (it sends each
/// slice's own, never predicted): <see cref="HevcConstructedStream"/> covers those.
/// </summary>
public sealed class HevcClipFixture : IDisposable
{
    /// <summary>Each clip's pixel format and x265 parameters, and a field ffmpeg's trace_headers must show with that value
    /// in it (so the feature was really exercised).</summary>
    public static readonly IReadOnlyDictionary<string, (string PixelFormat, string X265, string Shows)> Clips =
        new Dictionary<string, (string, string, string)>
        {
            ["weighted"] = ("yuv420p", "keyint=14:min-keyint=14:scenecut=0:bframes=3:b-pyramid=1:ref=4:weightp=1:weightb=1:ctu=32:"
                + "repeat-headers=1:aud=1:open-gop=1:vbv-maxrate=800:vbv-bufsize=800:hrd=1:temporal-layers=1:info=1", "luma_weight_l1_flag[0] = 1"),
            ["slices"] = ("yuv420p", "keyint=30:bframes=2:slices=4:weightp=1:ctu=16", "slice_segment_address"),
            ["main10"] = ("yuv420p10le", "keyint=30:bframes=2:cbqpoffs=2:crqpoffs=-2:signhide=1:tskip=1:cu-lossless=1:weightp=1:weightb=1",
                "bit_depth_luma_minus8 = 2"),
            ["yuv444"] = ("yuv444p", "keyint=30:bframes=2:weightp=1:weightb=1:tskip=1", "chroma_format_idc = 3"),
            ["gray"] = ("gray", "keyint=30:bframes=2:weightp=1:weightb=1", "chroma_format_idc = 0"),
            ["radl"] = ("yuv422p10le", "keyint=10:min-keyint=10:open-gop=0:radl=2:bframes=4:no-sao=1:no-deblock=1:constrained-intra=1:ref=3",
                "nal_unit_type = 7"),
        };

    private readonly TempDirectory _directory = new();
    private readonly Dictionary<string, HevcClip> _made = [];

    public TempDirectory Directory => _directory;

    public static TheoryData<string> Names => new(Clips.Keys);

    public HevcClip this[string name]
    {
        get
        {
            lock (_made)
            {
                if (_made.TryGetValue(name, out var made)) return made;
                var (pixelFormat, x265, _) = Clips[name];
                string file = _directory.Combine($"{name}.mp4");
                MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30,fade=t=in:st=0:d=1", "-t", "1",
                    "-pix_fmt", pixelFormat, "-c:v", "libx265", "-x265-params", "log-level=error:" + x265,
                    "-tag:v", "hvc1", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", file);
                var (hvcC, samples) = FragmentedMp4.ReadHevc(System.IO.File.ReadAllBytes(file));
                var clip = new HevcClip(name, file, new VideoTrack(Codec.H265, hvcC, "hvc1.1.6.L60.90", 320, 240), samples);
                _made[name] = clip;
                return clip;
            }
        }
    }

    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("CMAF_TESTS_KEEP") is null) _directory.Dispose();
    }
}
