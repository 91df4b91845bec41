using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// ffmpeg's own reading of a stream's slice headers, the independent count the packager's are measured against: its
/// trace_headers bitstream filter prints every field its coded bitstream library reads, with the bit it starts at,
/// counted from the NAL unit's first bit with emulation prevention bytes removed.
/// </summary>
internal static partial class TraceHeaders
{
    /// <summary>One field as ffmpeg printed it.</summary>
    public sealed record Field(string Name, int Start, string Bits, string Value)
    {
        public int End => Start + Bits.Length;

        public override string ToString() => $"{Start} {Name} {Bits} = {Value}";
    }

    /// <summary>One header (a parameter set, a slice header…) as ffmpeg printed it: its name and its fields.</summary>
    public sealed record Header(string Name, List<Field> Fields)
    {
        /// <summary>Where its last field ends, in bits from the NAL unit's first.</summary>
        public int End => Fields.Select(f => f.End).DefaultIfEmpty(0).Max();
    }

    [GeneratedRegex(@"^\[trace_headers @ [^\]]+\] (\d+)\s+(\S+)\s+([01]+) = (\S+)")]
    private static partial Regex FieldLine();

    [GeneratedRegex(@"^\[trace_headers @ [^\]]+\] ([A-Za-z][A-Za-z ]+)$")]
    private static partial Regex HeadingLine();

    /// <summary>
    /// Every header ffmpeg reads in the first video stream of <paramref name="file"/>, in stream order. The file is fed
    /// through a pipe, as <see cref="Broadcast.TestSupport.FrameMd5"/> does: ffmpeg 5.1, given a seekable file of several
    /// encrypted fragments, stops at the second with "Incorrect number of samples in encryption info".
    /// </summary>
    public static List<Header> ReadAll(string file, params string[] inputOptions)
    {
        string[] arguments = ["-c", "f=$1; shift; exec ffmpeg -hide_banner -nostdin \"$@\" -i pipe:0 -map 0:v -c:v copy -bsf:v trace_headers -f null - < \"$f\" 2>&1",
            "sh", file, .. inputOptions];
        var headers = new List<Header>();
        Header? current = null;
        foreach (var line in MediaTools.Run("sh", arguments).Split('\n'))
        {
            if (FieldLine().Match(line) is { Success: true } m)
            {
                current?.Fields.Add(new Field(m.Groups[2].Value, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[3].Value,
                    m.Groups[4].Value));
                continue;
            }
            current = HeadingLine().Match(line) is { Success: true } h ? new Header(h.Groups[1].Value, []) : null;
            if (current is not null) headers.Add(current);
        }
        return headers;
    }

    /// <summary>The headers named <paramref name="name"/> ("Slice Header" for AVC, "Slice Segment Header" for HEVC).</summary>
    public static List<Header> Read(string file, string name, params string[] inputOptions) =>
        ReadAll(file, inputOptions).Where(h => h.Name == name).ToList();

    /// <summary>
    /// Stored bytes of <paramref name="nal"/> that hold its first <paramref name="rbspBytes"/> bytes once its emulation
    /// prevention bytes (0x03 after two zero bytes, ISO/IEC 14496-10 §7.4.1, H.265 §7.4.2) are taken out.
    /// </summary>
    public static int StoredBytes(ReadOnlySpan<byte> nal, int rbspBytes)
    {
        int stored = 0, zeros = 0;
        for (int read = 0; read < rbspBytes; stored++)
        {
            if (zeros >= 2 && nal[stored] == 3)
            {
                zeros = 0;
                continue;
            }
            zeros = nal[stored] == 0 ? zeros + 1 : 0;
            read++;
        }
        return stored;
    }
}
