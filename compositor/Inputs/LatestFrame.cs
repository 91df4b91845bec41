using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// A decoder's newest picture handed to the program loop without either side waiting on the other: three pooled
/// frames (the one being written, the one ready, the one being read) swapped under a lock held for two reference
/// assignments. A decoder faster than the program overwrites the ready frame (the older picture is dropped); a
/// program faster than the decoder keeps reading the picture it has.
/// </summary>
public sealed class LatestFrame : IDisposable
{
    private readonly object _gate = new();
    private Yuv420Frame _writing, _ready, _reading;
    private bool _fresh;
    private long _published;

    public LatestFrame(PixelSize size)
    {
        Size = size;
        _writing = new Yuv420Frame(size.Width, size.Height);
        _ready = new Yuv420Frame(size.Width, size.Height);
        _reading = new Yuv420Frame(size.Width, size.Height);
    }

    public PixelSize Size { get; }

    /// <summary>Pictures published so far.</summary>
    public long Published => Interlocked.Read(ref _published);

    /// <summary>The frame the decoder fills next; only the decoder's thread touches it until <see cref="Publish"/>.</summary>
    public Yuv420Frame Writing => _writing;

    /// <summary>Makes the picture just written the newest one.</summary>
    public void Publish()
    {
        lock (_gate)
        {
            (_writing, _ready) = (_ready, _writing);
            _fresh = true;
        }
        Interlocked.Increment(ref _published);
    }

    /// <summary>
    /// The newest picture for the program loop (one reader only): it stays untouched by the decoder until the next
    /// call. Null before the first picture.
    /// </summary>
    public Yuv420Frame? Read()
    {
        lock (_gate)
        {
            if (_fresh)
            {
                (_reading, _ready) = (_ready, _reading);
                _fresh = false;
            }
        }
        return Published == 0 ? null : _reading;
    }

    public void Dispose()
    {
        _writing.Dispose();
        _ready.Dispose();
        _reading.Dispose();
    }
}
