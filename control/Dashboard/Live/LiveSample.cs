namespace Broadcast.Control.Dashboard.Live;

/// <summary>One point of a channel's health chart: taken every second while the channel is polled.</summary>
/// <param name="T">Unix time in milliseconds (what the chart's x axis and JavaScript's Date use).</param>
/// <param name="Bitrate">Ingest bitrate in bits per second.</param>
/// <param name="Fps">Video frames per second received.</param>
public readonly record struct LiveSample(long T, long Bitrate, double Fps);

/// <summary>
/// The last <see cref="Capacity"/> samples of one channel, oldest first when read. Ten minutes at one sample a
/// second is 600 entries: a fixed array, overwritten in a circle, so a channel that stays live for days costs
/// the same memory as one live for ten minutes.
/// </summary>
public sealed class LiveSampleRing(int capacity = LiveSampleRing.TenMinutesAtOneHertz)
{
    public const int TenMinutesAtOneHertz = 600;

    private readonly LiveSample[] _items = new LiveSample[capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity))];
    private readonly Lock _gate = new();
    private int _next;
    private int _count;

    public int Capacity => _items.Length;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    public void Add(LiveSample sample)
    {
        lock (_gate)
        {
            _items[_next] = sample;
            _next = (_next + 1) % _items.Length;
            _count = Math.Min(_count + 1, _items.Length);
        }
    }

    /// <summary>Samples not older than <paramref name="sinceUnixMs"/>, oldest first.</summary>
    public LiveSample[] Snapshot(long sinceUnixMs = long.MinValue)
    {
        lock (_gate)
        {
            var result = new List<LiveSample>(_count);
            var start = (_next - _count + _items.Length) % _items.Length;
            for (var i = 0; i < _count; i++)
            {
                var s = _items[(start + i) % _items.Length];
                if (s.T >= sinceUnixMs)
                {
                    result.Add(s);
                }
            }

            return result.ToArray();
        }
    }
}
