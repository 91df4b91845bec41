namespace Broadcast.Media.MpegTs;

/// <summary>Takes one whole PSI section; false with a reason when it is malformed.</summary>
internal delegate bool PsiSectionHandler(ReadOnlySpan<byte> section, out string? error);

/// <summary>
/// Gathers the PSI sections of one PID from its TS packets (ISO/IEC 13818-1 2.4.4): a pointer_field in a packet that
/// starts a section says where it begins, the bytes before it finish the one begun in an earlier packet, and
/// section_length says where it ends. A section identical to the last one applied (the table repeats every ~100 ms) is
/// not handed on again; neither are stuffing bytes (0xFF) after a table. Fixed buffers: nothing is allocated per packet.
/// </summary>
internal sealed class PsiSectionAssembler(PsiSectionHandler onSection, int capacity = 3 + PsiSection.MaxSectionLength)
{
    private readonly byte[] _buffer = new byte[capacity];
    private readonly byte[] _last = new byte[capacity];
    private int _length;
    private int _lastLength;
    private bool _overlong;

    /// <summary>A section is being gathered; false until the next packet that starts one.</summary>
    public bool Active { get; set; }

    /// <summary>Reads one packet's payload; false with a reason when a section is malformed (or the handler said so).</summary>
    public bool TryRead(in TsPacketHeader header, ReadOnlySpan<byte> payload, out string? error)
    {
        error = null;
        if (payload.IsEmpty) return true;
        if (header.PayloadUnitStart)
        {
            int pointer = payload[0];
            if (pointer + 1 > payload.Length)
            {
                error = $"PSI pointer_field {pointer} runs past the packet on PID {header.Pid}";
                return false;
            }
            // The bytes before the pointer finish a section begun in an earlier packet (2.4.4.2).
            if (Active && !TryAppend(header.Pid, payload.Slice(1, pointer), out error)) return false;
            Start();
            return TryAppend(header.Pid, payload[(1 + pointer)..], out error);
        }
        return !Active || TryAppend(header.Pid, payload, out error);
    }

    /// <summary>Forgets the last section applied (the table moved to another PID) and waits for the next start.</summary>
    public void Forget()
    {
        _lastLength = 0;
        Active = false;
    }

    private void Start()
    {
        Active = true;
        _overlong = false;
        _length = 0;
    }

    private bool TryAppend(int pid, ReadOnlySpan<byte> bytes, out string? error)
    {
        error = null;
        int take = Math.Min(bytes.Length, _buffer.Length - _length);
        bytes[..take].CopyTo(_buffer.AsSpan(_length));
        _length += take;
        if (!TryGetSection(out var section, out bool stuffing))
        {
            if (_overlong)
            {
                error = $"PSI section on PID {pid} longer than {_buffer.Length - 3} bytes";
                return false;
            }
            return true;
        }
        Active = false;
        if (stuffing || section.SequenceEqual(_last.AsSpan(0, _lastLength))) return true; // the table repeats: parse it once
        section.CopyTo(_last);
        _lastLength = section.Length;
        return onSection(section, out error);
    }

    /// <summary>A whole section once its length is in; <paramref name="stuffing"/> when the table ended (0xFF).</summary>
    private bool TryGetSection(out ReadOnlySpan<byte> section, out bool stuffing)
    {
        section = default;
        stuffing = _length > 0 && _buffer[0] == 0xFF;
        if (stuffing) return true;
        if (_length < 3) return false;
        int total = 3 + (((_buffer[1] & 0x0F) << 8) | _buffer[2]);
        if (total > _buffer.Length)
        {
            _overlong = true;
            return false;
        }
        if (_length < total) return false;
        section = _buffer.AsSpan(0, total);
        return true;
    }
}
