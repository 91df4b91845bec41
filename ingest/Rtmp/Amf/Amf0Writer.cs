using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Broadcast.Ingest.Rtmp;

/// <summary>AMF0 encoder. Strings of more than 65535 UTF-8 bytes become long strings (AMF0 §2.14).</summary>
public static class Amf0Writer
{
    public static void WriteNumber(IBufferWriter<byte> writer, double value)
    {
        var span = writer.GetSpan(9);
        span[0] = (byte)Amf0Marker.Number;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], value);
        writer.Advance(9);
    }

    public static void WriteBoolean(IBufferWriter<byte> writer, bool value)
    {
        var span = writer.GetSpan(2);
        span[0] = (byte)Amf0Marker.Boolean;
        span[1] = value ? (byte)1 : (byte)0;
        writer.Advance(2);
    }

    public static void WriteString(IBufferWriter<byte> writer, string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        bool isLong = length > ushort.MaxValue;
        WriteMarker(writer, isLong ? Amf0Marker.LongString : Amf0Marker.String);
        WriteUtf8(writer, value, length, isLong ? 4 : 2);
    }

    public static void WriteNull(IBufferWriter<byte> writer) => WriteMarker(writer, Amf0Marker.Null);

    public static void WriteUndefined(IBufferWriter<byte> writer) => WriteMarker(writer, Amf0Marker.Undefined);

    public static void WriteObject(IBufferWriter<byte> writer, IEnumerable<KeyValuePair<string, object?>> properties)
    {
        WriteMarker(writer, Amf0Marker.Object);
        WriteProperties(writer, properties);
    }

    public static void WriteEcmaArray(IBufferWriter<byte> writer, IReadOnlyCollection<KeyValuePair<string, object?>> properties)
    {
        var span = writer.GetSpan(5);
        span[0] = (byte)Amf0Marker.EcmaArray;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)properties.Count);
        writer.Advance(5);
        WriteProperties(writer, properties);
    }

    public static void WriteStrictArray(IBufferWriter<byte> writer, IReadOnlyList<object?> items)
    {
        var span = writer.GetSpan(5);
        span[0] = (byte)Amf0Marker.StrictArray;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)items.Count);
        writer.Advance(5);
        foreach (var item in items) WriteValue(writer, item);
    }

    public static void WriteDate(IBufferWriter<byte> writer, AmfDate date)
    {
        var span = writer.GetSpan(11);
        span[0] = (byte)Amf0Marker.Date;
        BinaryPrimitives.WriteDoubleBigEndian(span[1..], date.MillisecondsSinceEpoch);
        BinaryPrimitives.WriteInt16BigEndian(span[9..], date.TimeZone);
        writer.Advance(11);
    }

    /// <summary>Writes any value the reader produces; integers become numbers.</summary>
    public static void WriteValue(IBufferWriter<byte> writer, object? value)
    {
        switch (value)
        {
            case null: WriteNull(writer); break;
            case AmfUndefined: WriteUndefined(writer); break;
            case double d: WriteNumber(writer, d); break;
            case int i: WriteNumber(writer, i); break;
            case long l: WriteNumber(writer, l); break;
            case uint u: WriteNumber(writer, u); break;
            case float f: WriteNumber(writer, f); break;
            case bool b: WriteBoolean(writer, b); break;
            case string s: WriteString(writer, s); break;
            case AmfDate date: WriteDate(writer, date); break;
            case AmfEcmaArray ecma: WriteEcmaArray(writer, ecma); break;
            case AmfObject obj when obj.ClassName is not null:
                WriteMarker(writer, Amf0Marker.TypedObject);
                WriteUtf8(writer, obj.ClassName, Encoding.UTF8.GetByteCount(obj.ClassName), 2);
                WriteProperties(writer, obj);
                break;
            case IEnumerable<KeyValuePair<string, object?>> obj: WriteObject(writer, obj); break;
            case IReadOnlyList<object?> list: WriteStrictArray(writer, list); break;
            default: throw new ArgumentException($"No AMF0 encoding for {value.GetType().Name}.", nameof(value));
        }
    }

    private static void WriteProperties(IBufferWriter<byte> writer, IEnumerable<KeyValuePair<string, object?>> properties)
    {
        foreach (var (key, value) in properties)
        {
            WriteUtf8(writer, key, Encoding.UTF8.GetByteCount(key), 2);
            WriteValue(writer, value);
        }
        var end = writer.GetSpan(3);
        end[0] = 0;
        end[1] = 0;
        end[2] = (byte)Amf0Marker.ObjectEnd;
        writer.Advance(3);
    }

    private static void WriteMarker(IBufferWriter<byte> writer, Amf0Marker marker)
    {
        writer.GetSpan(1)[0] = (byte)marker;
        writer.Advance(1);
    }

    private static void WriteUtf8(IBufferWriter<byte> writer, string value, int byteCount, int lengthBytes)
    {
        if (lengthBytes == 2 && byteCount > ushort.MaxValue) throw new ArgumentException("AMF0 short string longer than 65535 bytes.", nameof(value));
        var span = writer.GetSpan(lengthBytes);
        if (lengthBytes == 2) BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)byteCount);
        else BinaryPrimitives.WriteUInt32BigEndian(span, (uint)byteCount);
        writer.Advance(lengthBytes);
        if (byteCount == 0) return;
        int written = Encoding.UTF8.GetBytes(value, writer.GetSpan(byteCount));
        writer.Advance(written);
    }
}
