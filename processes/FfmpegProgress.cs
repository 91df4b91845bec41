using System.Globalization;

namespace Broadcast.Processes;

/// <summary>
/// Parses ffmpeg's <c>-progress</c> output: blocks of <c>key=value</c> lines, each ended by <c>progress=continue</c>
/// or <c>progress=end</c>. Only the keys supervision needs are kept.
/// </summary>
public sealed class FfmpegProgress
{
    private double? _pendingSpeed;
    private double? _pendingFps;
    private long? _pendingDrop;
    private long? _pendingFrame;
    private long? _pendingOutUs;
    private readonly Queue<(long WallMs, long OutUs)> _window = new();

    public double? Speed { get; private set; }
    public double? Fps { get; private set; }
    public long DroppedFrames { get; private set; }
    public long Frames { get; private set; }
    public int Blocks { get; private set; }
    public bool Ended { get; private set; }

    /// <summary>Output media time reached, microseconds.</summary>
    public long OutTimeUs { get; private set; }

    /// <summary>
    /// Speed over the last few seconds (output media time advanced / wall time elapsed). ffmpeg's own <c>speed</c> is
    /// averaged since start, so for a live input it stays below 1.0 long after start-up; the window tracks now.
    /// Null until the window spans <see cref="WindowMs"/>.
    /// </summary>
    public double? WindowSpeed { get; private set; }

    public long WindowMs { get; init; } = 5000;

    /// <summary>Feeds one line; returns true when it completed a block (the values above were updated).</summary>
    public bool OnLine(ReadOnlySpan<char> line) => OnLine(line, Environment.TickCount64);

    /// <summary>Feeds one line read at wall time <paramref name="wallMs"/> (a monotonic millisecond clock).</summary>
    public bool OnLine(ReadOnlySpan<char> line, long wallMs)
    {
        int eq = line.IndexOf('=');
        if (eq <= 0) return false;
        var key = line[..eq].Trim();
        var value = line[(eq + 1)..].Trim();
        switch (key)
        {
            case "speed":
                _pendingSpeed = Real(value.EndsWith("x") ? value[..^1] : value);
                break;
            case "fps":
                _pendingFps = Real(value);
                break;
            case "drop_frames":
                _pendingDrop = Whole(value);
                break;
            case "frame":
                _pendingFrame = Whole(value);
                break;
            case "out_time_us":
            case "out_time_ms": // despite the name, also microseconds
                _pendingOutUs = Whole(value);
                break;
            case "progress":
                if (_pendingSpeed is not null) Speed = _pendingSpeed;
                if (_pendingFps is not null) Fps = _pendingFps;
                if (_pendingDrop is long dr) DroppedFrames = dr;
                if (_pendingFrame is long fr) Frames = fr;
                if (_pendingOutUs is long o && o > 0)
                {
                    OutTimeUs = o;
                    _window.Enqueue((wallMs, o));
                    while (_window.Count > 2 && wallMs - _window.Peek().WallMs > WindowMs) _window.Dequeue();
                    var first = _window.Peek();
                    long span = wallMs - first.WallMs;
                    if (span >= WindowMs * 4 / 5) WindowSpeed = (o - first.OutUs) / 1000.0 / span;
                }
                Ended = value.SequenceEqual("end");
                Blocks++;
                _pendingSpeed = _pendingFps = null;
                _pendingDrop = _pendingFrame = _pendingOutUs = null;
                return true;
        }
        return false;
    }

    /// <summary>A number, or null for ffmpeg's "N/A" (the last known value then stays).</summary>
    private static double? Real(ReadOnlySpan<char> value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) ? number : null;

    private static long? Whole(ReadOnlySpan<char> value) =>
        long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long number) ? number : null;
}
