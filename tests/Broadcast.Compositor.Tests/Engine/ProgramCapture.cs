using System.Buffers;
using System.Runtime.InteropServices;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// Reads a program's hub as a player would: frames from its latest keyframe until a media time, written as FLV and
/// decoded by ffmpeg, so what is checked is what the encoder really produced.
/// </summary>
internal static class ProgramCapture
{
    public const int Width = 160, Height = 90;

    /// <summary>Writes the program from its cached keyframe up to the first video frame at or after <paramref name="untilTicks"/> (90 kHz) into <paramref name="path"/>.</summary>
    public static async Task CaptureAsync(LiveStream program, long untilTicks, string path, List<long>? videoTimes = null)
    {
        using var reader = program.OpenReader("test-capture", capacity: 4096);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var buffer = new ArrayBufferWriter<byte>(1 << 20);
        FlvMuxer.WriteHeader(buffer, hasAudio: true, hasVideo: true);
        var muxer = new FlvMuxer();
        while (true)
        {
            var frame = await reader.ReadAsync(timeout.Token) ?? throw new InvalidOperationException("the program ended");
            try
            {
                muxer.Write(buffer, frame);
                if (frame.Kind != MediaKind.Video) continue;
                long ticks = Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Video);
                videoTimes?.Add(ticks);
                if (ticks >= untilTicks) break;
            }
            finally { frame.Release(); }
        }
        await File.WriteAllBytesAsync(path, buffer.WrittenMemory.ToArray());
    }

    /// <summary>The last picture of the file, scaled to <see cref="Width"/>×<see cref="Height"/>, as rgb24.</summary>
    public static async Task<byte[]> LastPictureAsync(string path)
    {
        var stdout = await RunAsync(["-i", path, "-an", "-vf", $"scale={Width}:{Height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        int size = Width * Height * 3;
        Assert.True(stdout.Length >= size, $"no picture decoded from {path}");
        return stdout[^size..];
    }

    /// <summary>Every picture of the file, in order, scaled to <see cref="Width"/>×<see cref="Height"/>, as rgb24.</summary>
    public static async Task<List<byte[]>> PicturesAsync(string path)
    {
        var stdout = await RunAsync(["-i", path, "-an", "-vf", $"scale={Width}:{Height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        int size = Width * Height * 3;
        return Enumerable.Range(0, stdout.Length / size).Select(i => stdout[(i * size)..((i + 1) * size)]).ToList();
    }

    /// <summary>The file's last <paramref name="frames"/> audio sample frames, 48 kHz stereo.</summary>
    public static async Task<float[]> LastSamplesAsync(string path, int frames)
    {
        var stdout = await RunAsync(["-i", path, "-vn", "-ac", "2", "-ar", "48000", "-f", "f32le", "pipe:1"]);
        var samples = MemoryMarshal.Cast<byte, float>(stdout.AsSpan(0, stdout.Length / 4 * 4)).ToArray();
        Assert.True(samples.Length >= frames * 2, $"only {samples.Length / 2} audio frames decoded from {path}");
        return samples[^(frames * 2)..];
    }

    /// <summary>The colour at (<paramref name="x"/>, <paramref name="y"/>) of the canvas, in canvas coordinates of a <paramref name="canvasWidth"/>-wide canvas.</summary>
    public static (int R, int G, int B) At(byte[] rgb, int x, int y, int canvasWidth, int canvasHeight)
    {
        int px = x * Width / canvasWidth, py = y * Height / canvasHeight;
        int i = ((py * Width) + px) * 3;
        return (rgb[i], rgb[i + 1], rgb[i + 2]);
    }

    /// <summary>
    /// Lip sync of a capture of <see cref="ChannelFeed.StartFlashAndBeep"/>: each flash (the picture's top-left eighth
    /// turning white, ffmpeg's <c>blackdetect</c>) paired with the beep nearest it within half a second (<c>silencedetect</c>),
    /// on the file's own timestamps; the median of sound minus picture in ms (positive: the sound is late) and the pairs found.
    /// </summary>
    public static async Task<(int MedianMs, int Pairs)> SoundMinusPictureAsync(string path)
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var launch = new ProcessLaunch("ffmpeg", ["-hide_banner", "-nostdin", "-nostats", "-copyts", "-i", path, "-filter_complex",
            "[0:v]crop=iw/8:ih/8:0:0,blackdetect=d=0.2:pix_th=0.5[v];[0:a]silencedetect=n=-30dB:d=0.3[a]", "-map", "[v]", "-map", "[a]", "-f", "null", "-"])
        {
            OnStderrLine = lines.Enqueue,
        };
        var result = await SupervisedProcess.RunAsync(launch, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.True(result.Succeeded, result.Stderr);
        string text = string.Join('\n', lines);
        static List<double> Times(string text, string key) =>
            [.. System.Text.RegularExpressions.Regex.Matches(text, key + @":\s*([0-9.]+)")
                .Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture))];
        var flashes = Times(text, "black_end");
        var beeps = Times(text, "silence_end");
        var offsets = new List<int>();
        foreach (double flash in flashes)
        {
            var nearest = beeps.Select(beep => beep - flash).Where(d => Math.Abs(d) < 0.5).OrderBy(Math.Abs).ToList();
            if (nearest.Count > 0) offsets.Add((int)Math.Round(nearest[0] * 1000));
        }
        offsets.Sort();
        return (offsets.Count == 0 ? 0 : offsets[offsets.Count / 2], offsets.Count);
    }

    private static async Task<byte[]> RunAsync(string[] args)
    {
        var result = await SupervisedProcess.RunAsync(new ProcessLaunch("ffmpeg", ["-hide_banner", "-loglevel", "error", .. args]), TimeSpan.FromSeconds(20), CancellationToken.None);
        Assert.True(result.Succeeded, result.Stderr);
        return result.Stdout;
    }
}
