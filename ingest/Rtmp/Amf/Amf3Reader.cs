using System.Buffers.Binary;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// AMF3 decoder (Adobe AMF3 spec §3), enough for values switched to from AMF0 (avmplus marker) in command (type 17)
/// and data (type 15) messages: undefined, null, booleans, integers, doubles, strings, XML, dates, arrays, objects
/// with inline or referenced traits, and byte arrays, with the string/object/traits reference tables.
/// Externalizable objects, vectors and dictionaries are refused with <see cref="AmfError.UnsupportedType"/>.
/// </summary>
public ref struct Amf3Reader
{
    /// <summary>Reference tables; they live across the values of one message.</summary>
    public sealed class Tables
    {
        internal readonly List<string> Strings = new();
        internal readonly List<object?> Objects = new();
        internal readonly List<(string? ClassName, string[] Members, bool Dynamic)> Traits = new();
    }

    private readonly ReadOnlySpan<byte> _source;
    private readonly Tables _tables;
    private readonly int _baseDepth;
    private int _position;
    private int _values;
    private long _declaredItems;

    public Amf3Reader(ReadOnlySpan<byte> source, Tables? tables = null, int baseDepth = 0)
    {
        _source = source;
        _tables = tables ?? new Tables();
        _baseDepth = baseDepth;
        _position = 0;
        _values = 0;
        _declaredItems = 0;
        Error = AmfError.None;
    }

    public readonly int Consumed => _position;

    public AmfError Error { get; private set; }

    public bool TryReadValue(out object? value) => TryReadValue(_baseDepth, out value);

    private bool TryReadValue(int depth, out object? value)
    {
        value = null;
        if (depth > AmfLimits.MaxDepth) return Fail(AmfError.TooDeep);
        if (++_values > AmfLimits.MaxValues) return Fail(AmfError.TooManyValues);
        if (_position >= _source.Length) return Fail(AmfError.Truncated);
        byte marker = _source[_position++];
        switch (marker)
        {
            case 0x00: value = AmfUndefined.Value; return true;
            case 0x01: return true;
            case 0x02: value = false; return true;
            case 0x03: value = true; return true;
            case 0x04:
            {
                if (!TryReadU29(out uint u)) return false;
                // 29-bit two's complement.
                value = (double)((int)(u << 3) >> 3);
                return true;
            }
            case 0x05:
            {
                if (_source.Length - _position < 8) return Fail(AmfError.Truncated);
                value = BinaryPrimitives.ReadDoubleBigEndian(_source[_position..]);
                _position += 8;
                return true;
            }
            case 0x06:
            {
                if (!TryReadString(out string s)) return false;
                value = s;
                return true;
            }
            case 0x07:
            case 0x0B:
            {
                if (!TryReadReferenceOrLength(out int length, out value)) return false;
                if (value is not null) return true;
                if (!TryReadUtf8(length, out string xml)) return false;
                _tables.Objects.Add(xml);
                value = xml;
                return true;
            }
            case 0x08:
            {
                if (!TryReadReferenceOrLength(out _, out value)) return false;
                if (value is not null) return true;
                if (_source.Length - _position < 8) return Fail(AmfError.Truncated);
                var date = new AmfDate(BinaryPrimitives.ReadDoubleBigEndian(_source[_position..]));
                _position += 8;
                _tables.Objects.Add(date);
                value = date;
                return true;
            }
            case 0x09: return TryReadArray(depth, out value);
            case 0x0A: return TryReadObject(depth, out value);
            case 0x0C:
            {
                if (!TryReadReferenceOrLength(out int length, out value)) return false;
                if (value is not null) return true;
                if (length > _source.Length - _position) return Fail(AmfError.Truncated);
                var bytes = _source.Slice(_position, length).ToArray();
                _position += length;
                _tables.Objects.Add(bytes);
                value = bytes;
                return true;
            }
            case >= 0x0D and <= 0x11:
                return Fail(AmfError.UnsupportedType);
            default:
                return Fail(AmfError.UnknownMarker);
        }
    }

    private bool TryReadArray(int depth, out object? value)
    {
        if (!TryReadReferenceOrLength(out int denseCount, out value)) return false;
        if (value is not null) return true;
        if (!TryDeclareItems(denseCount)) return false;
        int slot = _tables.Objects.Count;
        _tables.Objects.Add(null);
        AmfEcmaArray? assoc = null;
        while (true)
        {
            if (!TryReadString(out string key)) return false;
            if (key.Length == 0) break;
            if (!TryReadValue(depth + 1, out object? item)) return false;
            (assoc ??= new AmfEcmaArray())[key] = item;
        }
        var dense = new object?[denseCount];
        _tables.Objects[slot] = assoc ?? (object)dense;
        for (int i = 0; i < dense.Length; i++)
        {
            if (!TryReadValue(depth + 1, out dense[i])) return false;
        }
        if (assoc is not null)
        {
            for (int i = 0; i < dense.Length; i++) assoc[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = dense[i];
            value = assoc;
        }
        else value = dense;
        return true;
    }

    private bool TryReadObject(int depth, out object? value)
    {
        value = null;
        if (!TryReadU29(out uint header)) return false;
        if ((header & 1) == 0) return TryGetObjectReference(header >> 1, out value);
        (string? ClassName, string[] Members, bool Dynamic) traits;
        if ((header & 2) == 0)
        {
            int index = (int)(header >> 2);
            if (index >= _tables.Traits.Count) return Fail(AmfError.InvalidReference);
            traits = _tables.Traits[index];
        }
        else
        {
            if ((header & 4) != 0) return Fail(AmfError.UnsupportedType); // externalizable: class-specific encoding
            bool dynamic = (header & 8) != 0;
            uint sealedCount = header >> 4;
            if (!TryDeclareItems(sealedCount)) return false;
            if (!TryReadString(out string className)) return false;
            var members = new string[sealedCount];
            for (int i = 0; i < members.Length; i++)
            {
                if (!TryReadString(out members[i])) return false;
            }
            traits = (className.Length == 0 ? null : className, members, dynamic);
            _tables.Traits.Add(traits);
        }
        var obj = new AmfObject { ClassName = traits.ClassName };
        _tables.Objects.Add(obj);
        foreach (var member in traits.Members)
        {
            if (!TryReadValue(depth + 1, out object? item)) return false;
            obj[member] = item;
        }
        if (traits.Dynamic)
        {
            while (true)
            {
                if (!TryReadString(out string key)) return false;
                if (key.Length == 0) break;
                if (!TryReadValue(depth + 1, out object? item)) return false;
                obj[key] = item;
            }
        }
        value = obj;
        return true;
    }

    /// <summary>
    /// Every array item and sealed member name takes at least one byte of its own, so the counts of all containers
    /// together cannot exceed the bytes left. Checking the sum, not each count alone, keeps nested containers that
    /// each claim the whole remainder from allocating it again at every level (found by fuzzing).
    /// </summary>
    private bool TryDeclareItems(long count)
    {
        if (count > _source.Length - _position) return Fail(AmfError.Truncated);
        _declaredItems += count;
        return _declaredItems <= _source.Length || Fail(AmfError.Truncated);
    }

    /// <summary>U29 with the low bit choosing between an object reference and an inline length.</summary>
    private bool TryReadReferenceOrLength(out int length, out object? reference)
    {
        length = 0;
        reference = null;
        if (!TryReadU29(out uint u)) return false;
        if ((u & 1) == 0) return TryGetObjectReference(u >> 1, out reference);
        length = (int)(u >> 1);
        return true;
    }

    private bool TryGetObjectReference(uint index, out object? value)
    {
        value = null;
        if (index >= (uint)_tables.Objects.Count || _tables.Objects[(int)index] is null) return Fail(AmfError.InvalidReference);
        value = _tables.Objects[(int)index];
        return true;
    }

    private bool TryReadString(out string value)
    {
        value = string.Empty;
        if (!TryReadU29(out uint u)) return false;
        if ((u & 1) == 0)
        {
            uint index = u >> 1;
            if (index >= (uint)_tables.Strings.Count) return Fail(AmfError.InvalidReference);
            value = _tables.Strings[(int)index];
            return true;
        }
        if (!TryReadUtf8((int)(u >> 1), out value)) return false;
        if (value.Length > 0)
        {
            if (_tables.Strings.Count >= AmfLimits.MaxValues) return Fail(AmfError.TooManyValues);
            _tables.Strings.Add(value);
        }
        return true;
    }

    private bool TryReadUtf8(int length, out string value)
    {
        value = string.Empty;
        if (length > _source.Length - _position) return Fail(AmfError.Truncated);
        if (!Amf0Reader.TryDecodeUtf8(_source.Slice(_position, length), out value)) return Fail(AmfError.InvalidUtf8);
        _position += length;
        return true;
    }

    /// <summary>AMF3 §1.3.1 U29: 1-4 bytes, 7 bits each with a continuation bit, the fourth byte all 8 bits.</summary>
    private bool TryReadU29(out uint value)
    {
        value = 0;
        for (int i = 0; i < 4; i++)
        {
            if (_position >= _source.Length) return Fail(AmfError.Truncated);
            byte b = _source[_position++];
            if (i == 3)
            {
                value = (value << 8) | b;
                return true;
            }
            value = (value << 7) | (uint)(b & 0x7F);
            if ((b & 0x80) == 0) return true;
        }
        return true;
    }

    private bool Fail(AmfError error)
    {
        Error = error;
        return false;
    }
}
