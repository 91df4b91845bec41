using System.Buffers;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// One elementary stream's PES packet (ISO/IEC 13818-1 2.4.3.6) being gathered from its TS packets into a pooled buffer
/// that grows up to the demuxer's size bound, and the stream's continuity counter (2.4.3.3).
/// </summary>
internal sealed class PesAssembler(ushort pid, byte streamType) : IDisposable
{
    private byte[] _buffer = [];

    public ushort Pid { get; } = pid;

    public byte StreamType { get; } = streamType;

    public int? ContinuityCounter { get; set; }

    public bool Active { get; private set; }

    public int Length { get; private set; }

    public ReadOnlySpan<byte> Data => _buffer.AsSpan(0, Length);

    /// <summary>The whole PES's size once PES_packet_length is in and non-zero; null while unknown or unbounded.</summary>
    public int? DeclaredLength => Length >= 6 && ((_buffer[4] << 8) | _buffer[5]) is int length and > 0 ? 6 + length : null;

    public void Start()
    {
        Active = true;
        Length = 0;
    }

    public void Drop()
    {
        Active = false;
        Length = 0;
    }

    public void Append(ReadOnlySpan<byte> bytes)
    {
        if (Length + bytes.Length > _buffer.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(Length + bytes.Length, Math.Max(64 * 1024, _buffer.Length * 2)));
            _buffer.AsSpan(0, Length).CopyTo(larger);
            if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        bytes.CopyTo(_buffer.AsSpan(Length));
        Length += bytes.Length;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0) ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        Active = false;
        Length = 0;
    }
}
