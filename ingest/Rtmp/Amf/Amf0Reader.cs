using System.Buffers.Binary;
using System.Text;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// AMF0 decoder (Adobe AMF0 spec). Values decode to double, bool, string, null, <see cref="AmfUndefined"/>,
/// <see cref="AmfObject"/>, <see cref="AmfEcmaArray"/>, object?[] (strict array) and <see cref="AmfDate"/>.
/// The avmplus marker (0x11) switches one value to AMF3 (<see cref="Amf3Reader"/>).
/// Nesting depth and the number of values are bounded (<see cref="AmfLimits"/>); errors are typed, never thrown.
/// </summary>
public ref struct Amf0Reader
{
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private readonly ReadOnlySpan<byte> _source;
    private int _position;
    private int _values;
    private long _declaredItems;
    private Amf3Reader.Tables? _amf3;

    public Amf0Reader(ReadOnlySpan<byte> source)
    {
        _source = source;
        _position = 0;
        _values = 0;
        _declaredItems = 0;
        _amf3 = null;
        Error = AmfError.None;
    }

    public readonly int Consumed => _position;

    public readonly bool End => _position >= _source.Length;

    public AmfError Error { get; private set; }

    /// <summary>Reads a single value from a span; the convenience form of the reader.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out object? value, out int consumed)
    {
        var reader = new Amf0Reader(source);
        bool ok = reader.TryReadValue(out value);
        consumed = ok ? reader.Consumed : 0;
        return ok;
    }

    public bool TryReadValue(out object? value) => TryReadValue(0, out value);

    private bool TryReadValue(int depth, out object? value)
    {
        value = null;
        if (depth > AmfLimits.MaxDepth) return Fail(AmfError.TooDeep);
        if (++_values > AmfLimits.MaxValues) return Fail(AmfError.TooManyValues);
        if (_position >= _source.Length) return Fail(AmfError.Truncated);
        var marker = (Amf0Marker)_source[_position++];
        switch (marker)
        {
            case Amf0Marker.Number:
                if (!TryReadDouble(out double d)) return false;
                value = d;
                return true;
            case Amf0Marker.Boolean:
                if (_position >= _source.Length) return Fail(AmfError.Truncated);
                value = _source[_position++] != 0;
                return true;
            case Amf0Marker.String:
            {
                if (!TryReadUtf8(2, out string s)) return false;
                value = s;
                return true;
            }
            case Amf0Marker.LongString:
            case Amf0Marker.XmlDocument:
            {
                if (!TryReadUtf8(4, out string s)) return false;
                value = s;
                return true;
            }
            case Amf0Marker.Null:
                return true;
            case Amf0Marker.Undefined:
            case Amf0Marker.Unsupported:
                value = AmfUndefined.Value;
                return true;
            case Amf0Marker.Object:
            {
                var obj = new AmfObject();
                if (!TryReadProperties(obj, depth)) return false;
                value = obj;
                return true;
            }
            case Amf0Marker.TypedObject:
            {
                if (!TryReadUtf8(2, out string className)) return false;
                var obj = new AmfObject { ClassName = className };
                if (!TryReadProperties(obj, depth)) return false;
                value = obj;
                return true;
            }
            case Amf0Marker.EcmaArray:
            {
                // The count is a hint only (encoders get it wrong); the object-end marker terminates the array.
                if (_source.Length - _position < 4) return Fail(AmfError.Truncated);
                _position += 4;
                var array = new AmfEcmaArray();
                if (!TryReadProperties(array, depth)) return false;
                value = array;
                return true;
            }
            case Amf0Marker.StrictArray:
            {
                if (_source.Length - _position < 4) return Fail(AmfError.Truncated);
                uint count = BinaryPrimitives.ReadUInt32BigEndian(_source[_position..]);
                _position += 4;
                // Every value takes at least one byte: a count beyond the remaining bytes is a lie; do not allocate for it.
                if (count > (uint)(_source.Length - _position)) return Fail(AmfError.Truncated);
                if (count > AmfLimits.MaxValues) return Fail(AmfError.TooManyValues);
                // Nested arrays may each claim every byte left; all the arrays' items together cannot exceed the
                // bytes of the message, so the sum of counts is what bounds the allocation (found by fuzzing).
                _declaredItems += count;
                if (_declaredItems > _source.Length) return Fail(AmfError.Truncated);
                var items = new object?[count];
                for (int i = 0; i < items.Length; i++)
                {
                    if (!TryReadValue(depth + 1, out items[i])) return false;
                }
                value = items;
                return true;
            }
            case Amf0Marker.Date:
            {
                if (!TryReadDouble(out double ms)) return false;
                if (_source.Length - _position < 2) return Fail(AmfError.Truncated);
                short tz = BinaryPrimitives.ReadInt16BigEndian(_source[_position..]);
                _position += 2;
                value = new AmfDate(ms, tz);
                return true;
            }
            case Amf0Marker.AvmPlusObject:
            {
                _amf3 ??= new Amf3Reader.Tables();
                var amf3 = new Amf3Reader(_source[_position..], _amf3, depth);
                if (!amf3.TryReadValue(out value)) return Fail(amf3.Error);
                _position += amf3.Consumed;
                return true;
            }
            case Amf0Marker.MovieClip:
            case Amf0Marker.RecordSet:
            case Amf0Marker.Reference:
                return Fail(AmfError.UnsupportedType);
            default:
                return Fail(AmfError.UnknownMarker);
        }
    }

    private bool TryReadProperties(AmfObject target, int depth)
    {
        while (true)
        {
            // Some encoders end an onMetaData ECMA array with the message instead of an object-end marker.
            if (_position == _source.Length && target is AmfEcmaArray) return true;
            if (!TryReadUtf8(2, out string key)) return false;
            if (key.Length == 0)
            {
                if (_position >= _source.Length) return Fail(AmfError.Truncated);
                if (_source[_position] == (byte)Amf0Marker.ObjectEnd)
                {
                    _position++;
                    return true;
                }
            }
            if (!TryReadValue(depth + 1, out object? item)) return false;
            target[key] = item;
        }
    }

    private bool TryReadDouble(out double value)
    {
        value = 0;
        if (_source.Length - _position < 8) return Fail(AmfError.Truncated);
        value = BinaryPrimitives.ReadDoubleBigEndian(_source[_position..]);
        _position += 8;
        return true;
    }

    private bool TryReadUtf8(int lengthBytes, out string value)
    {
        value = string.Empty;
        if (_source.Length - _position < lengthBytes) return Fail(AmfError.Truncated);
        uint length = lengthBytes == 2
            ? BinaryPrimitives.ReadUInt16BigEndian(_source[_position..])
            : BinaryPrimitives.ReadUInt32BigEndian(_source[_position..]);
        _position += lengthBytes;
        if (length > (uint)(_source.Length - _position)) return Fail(AmfError.Truncated);
        if (!TryDecodeUtf8(_source.Slice(_position, (int)length), out value)) return Fail(AmfError.InvalidUtf8);
        _position += (int)length;
        return true;
    }

    internal static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, out string value)
    {
        try
        {
            value = bytes.IsEmpty ? string.Empty : StrictUtf8.GetString(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            value = string.Empty;
            return false;
        }
    }

    private bool Fail(AmfError error)
    {
        Error = error;
        return false;
    }
}
