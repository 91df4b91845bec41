using System.Globalization;
using Broadcast.Transcoder.Ladder;

namespace Broadcast.Transcoder.Encoding;

/// <summary>
/// One encoder back-end, named codec x back-end as in OvenMediaEngine (H264Nvenc, H264Qsv, H264Vaapi, H264X264).
/// Each knows the ffmpeg arguments for decoding the input, scaling one rung and encoding it, and the one-frame
/// probe that proves the back-end works on this machine (a listed encoder is not a working one: NVENC is built into
/// Debian's ffmpeg whether or not a GPU is present).
/// </summary>
public abstract class EncoderBackend
{
    /// <summary>Short name for configuration, logs and /metrics: nvenc, qsv, vaapi, x264.</summary>
    public abstract string Name { get; }

    /// <summary>The ffmpeg encoder, e.g. <c>h264_nvenc</c>.</summary>
    public abstract string Encoder { get; }

    public bool IsHardware => this is not H264X264Backend;

    /// <summary>
    /// Whether this back-end writes the source's A/53 closed captions back into every rung (see <see cref="AddKeepCaptions"/>).
    /// A session whose source carries captions leaves a back-end that cannot for the next one that can: captions are a
    /// legal requirement for many broadcasters, hardware encoding is not.
    /// </summary>
    public virtual bool KeepsCaptions => true;

    /// <summary>Arguments placed before <c>-i</c>: hardware decode or device initialisation.</summary>
    public abstract void AddInputArguments(List<string> args);

    /// <summary>The filter chain that turns one decoded picture into rung-sized frames the encoder accepts.</summary>
    public abstract string ScaleFilter(int width, int height);

    /// <summary>Encoder arguments for one rung's output.</summary>
    public abstract void AddEncoderArguments(List<string> args, PlannedRung rung);

    /// <summary>
    /// Extra encoder arguments for a low-latency broadcast, after <see cref="AddEncoderArguments"/>: whatever makes the
    /// encoder hand out each frame at once. Nothing by default (NVENC's <c>-tune ll</c> is always on).
    /// </summary>
    public virtual void AddLowLatencyArguments(List<string> args)
    {
    }

    /// <summary>The probe: a real one-frame encode of a generated picture, output discarded.</summary>
    public List<string> ProbeArguments()
    {
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "error" };
        AddProbeInputArguments(args);
        args.AddRange(["-f", "lavfi", "-i", "color=c=black:size=256x144:rate=30", "-frames:v", "1", "-vf", ProbeFilter]);
        args.AddRange(["-c:v", Encoder, "-f", "null", "-"]);
        return args;
    }

    /// <summary>Device set-up for the probe; the lavfi input is decoded in software, so no -hwaccel here.</summary>
    protected virtual void AddProbeInputArguments(List<string> args)
    {
    }

    /// <summary>The probe's filter: the live scale chain at a small size, starting from system-memory frames.</summary>
    protected virtual string ProbeFilter => ScaleFilter(256, 144);

    protected static string Bits(long bitsPerSecond) => bitsPerSecond.ToString(CultureInfo.InvariantCulture);

    /// <summary>Constant-bitrate-ish rate control every back-end shares: target, cap, and a one-second buffer.</summary>
    protected static void AddRate(List<string> args, PlannedRung rung)
    {
        args.AddRange(["-b:v", Bits(rung.VideoBitrate), "-maxrate", Bits(rung.VideoBitrate), "-bufsize", Bits(rung.VideoBitrate)]);
    }

    /// <summary>
    /// Closed captions: ffmpeg's H.264 decoder attaches the source's A/53 cc_data to each decoded picture as side data,
    /// split and scale keep frame side data, and encoders with an <c>a53cc</c> option write it back as the same SEI
    /// (user_data_registered_itu_t_t35, "GA94"). On by default in ffmpeg 5.1's libx264, h264_nvenc and h264_qsv, but said
    /// out loud so a build or version with another default cannot drop a broadcaster's captions. h264_vaapi has no
    /// such option (its SEI flags are timing, identifier and recovery point only): a captioned source is not encoded on
    /// VAAPI (<see cref="KeepsCaptions"/>).
    /// </summary>
    protected static void AddKeepCaptions(List<string> args) => args.AddRange(["-a53cc", "1"]);

    protected static string Size(int width, int height) =>
        string.Create(CultureInfo.InvariantCulture, $"{width}:{height}");

    public override string ToString() => Name;
}

/// <summary>NVIDIA: CUDA decode, <c>scale_cuda</c> on the GPU, <c>h264_nvenc</c>; frames never leave the card.</summary>
public sealed class H264NvencBackend : EncoderBackend
{
    public override string Name => "nvenc";
    public override string Encoder => "h264_nvenc";

    public override void AddInputArguments(List<string> args) =>
        args.AddRange(["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]);

    protected override void AddProbeInputArguments(List<string> args) =>
        args.AddRange(["-init_hw_device", "cuda=cu", "-filter_hw_device", "cu"]);

    public override string ScaleFilter(int width, int height) => "scale_cuda=" + Size(width, height);

    // The probe's lavfi frames are in system memory; the live path's are already CUDA frames.
    protected override string ProbeFilter => "format=nv12,hwupload_cuda," + ScaleFilter(256, 144);

    public override void AddEncoderArguments(List<string> args, PlannedRung rung)
    {
        args.AddRange(["-c:v", Encoder, "-preset", "p4", "-tune", "ll", "-rc", "cbr", "-forced-idr", "1", "-g", "9999"]);
        AddRate(args, rung);
        AddKeepCaptions(args);
    }
}

/// <summary>Intel Quick Sync: software decode, upload once per rung, <c>h264_qsv</c>.</summary>
public sealed class H264QsvBackend : EncoderBackend
{
    public override string Name => "qsv";
    public override string Encoder => "h264_qsv";

    public override void AddInputArguments(List<string> args) =>
        args.AddRange(["-init_hw_device", "qsv=hw", "-filter_hw_device", "hw"]);

    protected override void AddProbeInputArguments(List<string> args) => AddInputArguments(args);

    public override string ScaleFilter(int width, int height) => "scale=" + Size(width, height) + ",hwupload=extra_hw_frames=64,format=qsv";

    public override void AddEncoderArguments(List<string> args, PlannedRung rung)
    {
        args.AddRange(["-c:v", Encoder, "-preset", "veryfast", "-g", "9999"]);
        AddRate(args, rung);
        AddKeepCaptions(args);
    }
}

/// <summary>VAAPI (Intel/AMD on Linux): software decode and scale, NV12 upload to the render node, <c>h264_vaapi</c>.</summary>
public sealed class H264VaapiBackend(string renderNode) : EncoderBackend
{
    public string RenderNode { get; } = renderNode;
    public override string Name => "vaapi";
    public override string Encoder => "h264_vaapi";

    public override void AddInputArguments(List<string> args) =>
        args.AddRange(["-init_hw_device", "vaapi=va:" + RenderNode, "-filter_hw_device", "va"]);

    protected override void AddProbeInputArguments(List<string> args) => AddInputArguments(args);

    public override string ScaleFilter(int width, int height) => "scale=" + Size(width, height) + ",format=nv12,hwupload";

    /// <summary>h264_vaapi writes no A/53 SEI (its <c>-sei</c> flags are identifier, timing and recovery point only).</summary>
    public override bool KeepsCaptions => false;

    public override void AddEncoderArguments(List<string> args, PlannedRung rung)
    {
        args.AddRange(["-c:v", Encoder, "-rc_mode", "CBR", "-g", "9999"]);
        AddRate(args, rung);
    }
}

/// <summary>Software: libx264 with a configurable preset (veryfast by default); scene-cut keyframes off so only the source's keyframes
/// exist.</summary>
public sealed class H264X264Backend(string preset = "veryfast") : EncoderBackend
{
    public string Preset { get; } = preset;
    public override string Name => "x264";
    public override string Encoder => "libx264";

    public override void AddInputArguments(List<string> args)
    {
    }

    public override string ScaleFilter(int width, int height) => "scale=" + Size(width, height);

    public override void AddEncoderArguments(List<string> args, PlannedRung rung)
    {
        args.AddRange(["-c:v", Encoder, "-preset", Preset, "-profile:v", "high", "-sc_threshold", "0", "-g", "9999", "-keyint_min", "1"]);
        AddRate(args, rung);
        AddKeepCaptions(args);
    }

    /// <summary>
    /// x264's zerolatency tune: no look-ahead, no B-frames, slice threads instead of frame threads. At veryfast the
    /// defaults hold about 20 frames (10 of look-ahead, B-frames, a frame per thread): a rung trailed its source by
    /// 0.70 s, more than a low-latency channel's whole Part Hold Back.
    /// </summary>
    public override void AddLowLatencyArguments(List<string> args) => args.AddRange(["-tune", "zerolatency"]);
}

/// <summary>The back-ends in probe order: NVENC, QSV, VAAPI (one per render node), then libx264.</summary>
public static class EncoderBackends
{
    public static IReadOnlyList<EncoderBackend> All { get; } =
        [new H264NvencBackend(), new H264QsvBackend(), new H264VaapiBackend("/dev/dri/renderD128"), new H264X264Backend()];

    /// <summary>The candidates on this machine: VAAPI once per <c>/dev/dri/renderD*</c> node, none when there is none.</summary>
    public static IReadOnlyList<EncoderBackend> Candidates(TranscodeOptions options, IEnumerable<string>? renderNodes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        renderNodes ??= Directory.Exists("/dev/dri") ? Directory.GetFiles("/dev/dri", "renderD*").Order(StringComparer.Ordinal) : [];
        var list = new List<EncoderBackend> { new H264NvencBackend(), new H264QsvBackend() };
        list.AddRange(renderNodes.Select(n => new H264VaapiBackend(n)));
        list.Add(new H264X264Backend(options.X264Preset));
        if (options.Backends.Count == 0) return list;
        return list.Where(b => options.Backends.Contains(b.Name, StringComparer.OrdinalIgnoreCase)).ToList();
    }
}
