namespace Broadcast.TestSupport;

/// <summary>
/// Keeps the last N lines written by a child process so a failing test can show what the process said
/// without letting a chatty process (ffmpeg at -loglevel info, a server at Debug) grow memory without bound.
/// Thread-safe: stdout and stderr callbacks arrive on different threads.
/// </summary>
public sealed class LineRingBuffer
{
    private readonly string[] _lines;
    private readonly object _gate = new();
    private long _written;

    public LineRingBuffer(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _lines = new string[capacity];
    }

    public int Capacity => _lines.Length;

    /// <summary>Total lines ever written, including the ones that fell off the front.</summary>
    public long TotalLines
    {
        get { lock (_gate) { return _written; } }
    }

    public void Add(string line)
    {
        lock (_gate)
        {
            _lines[_written % _lines.Length] = line;
            _written++;
        }
    }

    /// <summary>The last <paramref name="count"/> lines, oldest first.</summary>
    public IReadOnlyList<string> Last(int count)
    {
        lock (_gate)
        {
            var available = (int)Math.Min(_written, _lines.Length);
            var n = Math.Min(count, available);
            var result = new string[n];
            for (var i = 0; i < n; i++)
            {
                result[i] = _lines[(_written - n + i) % _lines.Length];
            }

            return result;
        }
    }

    public bool Contains(string text, StringComparison comparison = StringComparison.OrdinalIgnoreCase) =>
        Last(_lines.Length).Any(l => l.Contains(text, comparison));

    public string Tail(int count = 200)
    {
        var lines = Last(count);
        var dropped = TotalLines - lines.Count;
        var header = dropped > 0 ? $"... ({dropped} earlier lines not shown)" + Environment.NewLine : string.Empty;
        return header + string.Join(Environment.NewLine, lines);
    }
}
