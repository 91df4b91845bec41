using System.Globalization;
using System.Text.Json;

namespace Broadcast.TestSupport;

/// <summary>One stream as ffprobe reports it (only what tests compare).</summary>
public sealed record ProbeStream(
    int Index,
    string CodecType,
    string CodecName,
    string? Profile,
    int Width,
    int Height,
    double FrameRate,
    int SampleRate,
    int Channels,
    long? ReadFrames);

public sealed record ProbeResult(IReadOnlyList<ProbeStream> Streams, double DurationSeconds, string FormatName)
{
    public ProbeStream? Video => Streams.FirstOrDefault(s => s.CodecType == "video");

    public ProbeStream? Audio => Streams.FirstOrDefault(s => s.CodecType == "audio");
}

/// <summary>ffprobe as an independent judge of files, RTMP streams and HTTP manifests.</summary>
public static class FfProbe
{
    /// <summary>Probes a file or URL (rtmp://, http://...m3u8, http://...mpd).</summary>
    public static async Task<ProbeResult> ProbeAsync(string input, bool countFrames = false, TimeSpan? timeout = null)
    {
        var args = new List<string> { "-hide_banner", "-v", "error", "-print_format", "json", "-show_streams", "-show_format" };
        if (countFrames)
        {
            args.Add("-count_frames");
        }

        if (input.StartsWith("rtmp://", StringComparison.OrdinalIgnoreCase))
        {
            // A live RTMP stream has no end; bound the analysis rather than the whole read.
            args.AddRange(["-rw_timeout", "15000000"]);
        }

        args.Add(input);
        var t = timeout ?? TimeSpan.FromSeconds(60);
        var r = await ExternalProcess.RunAsync("ffprobe", args, t).ConfigureAwait(false);
        if (r.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffprobe {input} failed (exit {r.ExitCode}):{Environment.NewLine}{r.OutputTail}");
        }

        return Parse(r.StandardOutput);
    }

    /// <summary>Number of decodable video frames (ffprobe -count_frames) in a file.</summary>
    public static async Task<long> CountVideoFramesAsync(string input)
    {
        var r = await ProbeAsync(input, countFrames: true).ConfigureAwait(false);
        return r.Video?.ReadFrames ?? throw new InvalidOperationException($"ffprobe found no video frames count in {input}");
    }

    public static ProbeResult Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var streams = new List<ProbeStream>();
        if (root.TryGetProperty("streams", out var arr))
        {
            foreach (var s in arr.EnumerateArray())
            {
                streams.Add(new ProbeStream(
                    Int(s, "index"),
                    Str(s, "codec_type") ?? "",
                    Str(s, "codec_name") ?? "",
                    Str(s, "profile"),
                    Int(s, "width"),
                    Int(s, "height"),
                    Rate(Str(s, "avg_frame_rate")) is > 0 and var avg ? avg : Rate(Str(s, "r_frame_rate")),
                    (int)Num(Str(s, "sample_rate")),
                    Int(s, "channels"),
                    Str(s, "nb_read_frames") is { } nrf ? (long)Num(nrf) : null));
            }
        }

        double duration = 0;
        string formatName = "";
        if (root.TryGetProperty("format", out var fmt))
        {
            duration = Num(Str(fmt, "duration"));
            formatName = Str(fmt, "format_name") ?? "";
        }

        return new ProbeResult(streams, duration, formatName);
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText() : null;

    private static int Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : 0;

    private static double Num(string? s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : 0;

    /// <summary>ffprobe rates are fractions like "30000/1001" or "0/0".</summary>
    public static double Rate(string? s)
    {
        if (string.IsNullOrEmpty(s))
        {
            return 0;
        }

        var slash = s.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return Num(s);
        }

        var den = Num(s[(slash + 1)..]);
        return den == 0 ? 0 : Num(s[..slash]) / den;
    }
}
