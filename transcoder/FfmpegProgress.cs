using System.Globalization;

namespace Broadcast.Transcoder;

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

    public double? Speed { get; private set; }
    public double? Fps { get; private set; }
    public long DroppedFrames { get; private set; }
    public long Frames { get; private set; }
    public int Blocks { get; private set; }
    public bool Ended { get; private set; }

    /// <summary>Feeds one line; returns true when it completed a block (the values above were updated).</summary>
    public bool OnLine(ReadOnlySpan<char> line)
    {
        int eq = line.IndexOf('=');
        if (eq <= 0) return false;
        var key = line[..eq].Trim();
        var value = line[(eq + 1)..].Trim();
        switch (key)
        {
            case "speed":
                var v = value.EndsWith("x") ? value[..^1] : value;
                _pendingSpeed = double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) ? s : null;
                break;
            case "fps":
                _pendingFps = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) ? f : null;
                break;
            case "drop_frames":
                _pendingDrop = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long d) ? d : null;
                break;
            case "frame":
                _pendingFrame = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : null;
                break;
            case "progress":
                if (_pendingSpeed is not null) Speed = _pendingSpeed;
                if (_pendingFps is not null) Fps = _pendingFps;
                if (_pendingDrop is long dr) DroppedFrames = dr;
                if (_pendingFrame is long fr) Frames = fr;
                Ended = value.SequenceEqual("end");
                Blocks++;
                _pendingSpeed = _pendingFps = null;
                _pendingDrop = _pendingFrame = null;
                return true;
        }
        return false;
    }
}
