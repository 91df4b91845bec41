using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Broadcast.TestSupport;

/// <summary>
/// A test clip with CTA-608 closed captions, made the way a caption inserter makes one: ffmpeg encodes H.264 (Annex B,
/// no B-frames, so decode order is presentation order and one caption byte pair goes with each picture), then
/// <see cref="InjectCaptions"/> puts an ATSC A/53 caption SEI before each picture's first slice, and ffmpeg muxes that
/// with AAC into FLV (<c>-c:v copy</c>). Second <c>n</c> of the clip carries a pop-on caption "HELLO n" on CC1, displayed
/// about a third of a second into that second. <see cref="DecodeAsync"/> reads captions back with ffmpeg's own CTA-608
/// decoder (lavfi <c>movie=...[out0+subcc]</c>), so neither side of a test trusts our parser.
/// </summary>
public static partial class CaptionClip
{
    public const int Fps = 30;

    /// <summary>The caption shown during second <paramref name="second"/> of the clip.</summary>
    public static string Text(int second) => string.Create(CultureInfo.InvariantCulture, $"HELLO {second}");

    /// <summary>The FLV clip (H.264 with caption SEI + AAC), generated once per machine into <see cref="TestMedia.CacheDirectory"/>.</summary>
    public static async Task<string> GetAsync(int seconds = 8, int width = 640, int height = 360)
    {
        string key = string.Create(CultureInfo.InvariantCulture, $"captions-v1-{width}x{height}-{seconds}s.flv");
        Directory.CreateDirectory(TestMedia.CacheDirectory);
        string path = Path.Combine(TestMedia.CacheDirectory, key);
        if (File.Exists(path)) return path;
        using var _ = await CrossProcessLock.AcquireAsync(path + ".lock", TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        if (File.Exists(path)) return path;

        string work = Path.Combine(TestMedia.CacheDirectory, string.Create(CultureInfo.InvariantCulture, $"{key}.{Environment.ProcessId}"));
        string plain = work + ".plain.h264", captioned = work + ".cc.h264", partial = work + ".partial.flv";
        try
        {
            var inv = CultureInfo.InvariantCulture;
            await RunFfmpegAsync(
            [
                "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-f", "lavfi", "-i", string.Create(inv, $"testsrc2=size={width}x{height}:rate={Fps}"), "-t", seconds.ToString(inv),
                "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main", "-pix_fmt", "yuv420p", "-bf", "0",
                "-g", (2 * Fps).ToString(inv), "-keyint_min", (2 * Fps).ToString(inv), "-sc_threshold", "0", "-b:v", "600k",
                "-f", "h264", plain,
            ]).ConfigureAwait(false);
            var pairs = Enumerable.Range(0, seconds).Select(s => PopOn(Text(s))).ToArray();
            byte[] stream = InjectCaptions(await File.ReadAllBytesAsync(plain).ConfigureAwait(false),
                frame => frame / Fps < pairs.Length && frame % Fps < pairs[frame / Fps].Count ? pairs[frame / Fps][frame % Fps] : null);
            await File.WriteAllBytesAsync(captioned, stream).ConfigureAwait(false);
            await RunFfmpegAsync(
            [
                "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                "-framerate", Fps.ToString(inv), "-f", "h264", "-i", captioned,
                "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", seconds.ToString(inv),
                "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a", "96k", "-f", "flv", partial,
            ]).ConfigureAwait(false);
            File.Move(partial, path, overwrite: true);
            return path;
        }
        finally
        {
            foreach (var f in new[] { plain, captioned, partial }) File.Delete(f);
        }
    }

    /// <summary>
    /// The CTA-608 byte pairs (odd parity, CC1 on field 1) of a pop-on caption: Resume Caption Loading and Erase
    /// Non-displayed Memory, a Preamble Address Code for row 15, the text two characters a pair, End Of Caption to
    /// flip it on screen. Control codes are sent twice, as CTA-608 recommends.
    /// </summary>
    public static List<(byte, byte)> PopOn(string text)
    {
        var pairs = new List<(byte, byte)>();
        void Control(byte second)
        {
            pairs.Add((OddParity(0x14), OddParity(second)));
            pairs.Add((OddParity(0x14), OddParity(second)));
        }
        Control(0x20); // RCL
        Control(0x2E); // ENM
        Control(0x60); // PAC row 15, white
        var chars = Encoding.ASCII.GetBytes(text);
        for (int i = 0; i < chars.Length; i += 2)
            pairs.Add((OddParity(chars[i]), i + 1 < chars.Length ? OddParity(chars[i + 1]) : (byte)0x80));
        Control(0x2F); // EOC
        return pairs;
    }

    /// <summary>CTA-608 bytes are 7 bits plus an odd parity bit in bit 7.</summary>
    public static byte OddParity(byte value)
    {
        value &= 0x7F;
        return System.Numerics.BitOperations.PopCount(value) % 2 == 1 ? value : (byte)(value | 0x80);
    }

    /// <summary>
    /// The SEI NAL unit (with its header, escaped, without a start code) carrying one cc_data construct: a CTA-608 field 1
    /// pair, or padding (cc_valid 0) when <paramref name="pair"/> is null. ATSC A/53 Part 4 6.2.3; H.264 D.1.6.
    /// </summary>
    public static byte[] CaptionSeiNal((byte, byte)? pair)
    {
        byte[] construct = pair is var (a, b) ? [0xFC, a, b] : [0xFA, 0x00, 0x00];
        byte[] t35 = [0xB5, 0x00, 0x31, (byte)'G', (byte)'A', (byte)'9', (byte)'4', 0x03, 0xC0 | 1, 0xFF, .. construct, 0xFF];
        return SeiNal([4, (byte)t35.Length, .. t35]);
    }

    /// <summary>An H.264 SEI NAL unit of the given sei_message()s: header, emulation prevention, rbsp_trailing_bits.</summary>
    public static byte[] SeiNal(ReadOnlySpan<byte> messages)
    {
        var nal = new List<byte> { 0x06 };
        NalEscaping.Append(nal, messages);
        nal.Add(0x80);
        return nal.ToArray();
    }

    /// <summary>
    /// Inserts a caption SEI (<see cref="CaptionSeiNal"/>) before the first slice of every picture of an Annex B H.264
    /// stream: a slice NAL (types 1 and 5) whose first_mb_in_slice is 0 (the first bit after the header is 1 for ue(v) 0).
    /// <paramref name="pairForFrame"/> gives picture n's byte pair, or null for padding.
    /// </summary>
    public static byte[] InjectCaptions(ReadOnlySpan<byte> annexB, Func<int, (byte, byte)?> pairForFrame)
    {
        ArgumentNullException.ThrowIfNull(pairForFrame);
        var output = new List<byte>(annexB.Length + annexB.Length / 8);
        int frame = 0;
        var reader = new Broadcast.Media.Codecs.AnnexBReader(annexB);
        while (reader.TryReadNext(out var nal))
        {
            int type = nal[0] & 0x1F;
            if (type is 1 or 5 && nal.Length > 1 && (nal[1] & 0x80) != 0)
            {
                output.AddRange(StartCode);
                output.AddRange(CaptionSeiNal(pairForFrame(frame++)));
            }
            output.AddRange(StartCode);
            foreach (byte b in nal) output.Add(b);
        }
        return output.ToArray();
    }

    private static readonly byte[] StartCode = [0, 0, 0, 1];

    /// <summary>NAL units joined as one access unit in AVCC framing (big-endian lengths of <paramref name="lengthSize"/> bytes), as MediaFrame payloads are.</summary>
    public static byte[] Avcc(int lengthSize, params byte[][] nals)
    {
        ArgumentNullException.ThrowIfNull(nals);
        var output = new List<byte>();
        Span<byte> prefix = stackalloc byte[4];
        foreach (var nal in nals)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(prefix, nal.Length);
            output.AddRange(prefix[(4 - lengthSize)..]);
            output.AddRange(nal);
        }
        return output.ToArray();
    }

    /// <summary>
    /// The captions of a media file as ffmpeg's CTA-608 decoder reads them from the video's A/53 side data (in the order
    /// shown, formatting tags removed). Works on anything ffmpeg demuxes: FLV, MPEG-TS, fMP4 (an init segment with its
    /// media segments appended).
    /// </summary>
    public static async Task<IReadOnlyList<string>> DecodeAsync(string mediaPath)
    {
        // Inside a filtergraph option ':' and '\' and quotes are special; test paths are plain, escaped anyway.
        string escaped = mediaPath.Replace("\\", "\\\\\\\\", StringComparison.Ordinal).Replace(":", "\\\\:", StringComparison.Ordinal)
            .Replace("'", "\\\\\\'", StringComparison.Ordinal);
        var result = await ExternalProcess.RunAsync("ffmpeg",
            ["-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", $"movie={escaped}[out0+subcc]", "-map", "0:1", "-f", "srt", "-"],
            TimeSpan.FromMinutes(2)).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"ffmpeg could not read captions from {mediaPath} (exit {result.ExitCode}): {result.OutputTail}");
        return SrtText(result.StandardOutput);
    }

    /// <summary>The text lines of an SRT document, tags such as <c>&lt;font&gt;</c> and <c>{\an7}</c> removed.</summary>
    public static IReadOnlyList<string> SrtText(string srt)
    {
        ArgumentNullException.ThrowIfNull(srt);
        var texts = new List<string>();
        foreach (var block in srt.Replace("\r", "", StringComparison.Ordinal).Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (lines.Length < 3) continue; // number, timing, text
            string text = Tags().Replace(string.Join(' ', lines[2..]), "").Trim();
            if (text.Length > 0) texts.Add(text);
        }
        return texts;
    }

    private static async Task RunFfmpegAsync(IReadOnlyList<string> args)
    {
        var result = await ExternalProcess.RunAsync("ffmpeg", args, TimeSpan.FromMinutes(4)).ConfigureAwait(false);
        if (result.ExitCode != 0)
            throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)} exited with {result.ExitCode}: {result.OutputTail}");
    }

    [GeneratedRegex(@"<[^>]*>|\{\\[^}]*\}")]
    private static partial Regex Tags();
}
