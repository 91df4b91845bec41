using Broadcast.TestSupport;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

public class Amf0Tests
{
    private static readonly string LongText = new('x', 70_000);

    public static TheoryData<string, object?, string> Cases => new()
    {
        { "number 0", 0.0, "00 0000000000000000" },
        { "number 1.5", 1.5, "00 3FF8000000000000" },
        { "number -1", -1.0, "00 BFF0000000000000" },
        { "boolean true", true, "01 01" },
        { "boolean false", false, "01 00" },
        { "string", "live", "02 0004 6C697665" },
        { "empty string", "", "02 0000" },
        { "utf-8 string", "é", "02 0002 C3A9" },
        { "long string", LongText, "0C 00011170" + string.Concat(Enumerable.Repeat("78", 70_000)) },
        { "null", null, "05" },
        { "undefined", AmfUndefined.Value, "06" },
        { "object", new AmfObject { ["app"] = "live", ["n"] = 1.0 }, "03 0003 617070 02 0004 6C697665 0001 6E 00 3FF0000000000000 0000 09" },
        { "empty object", new AmfObject(), "03 0000 09" },
        { "nested object", new AmfObject { ["o"] = new AmfObject { ["b"] = true } }, "03 0001 6F 03 0001 62 01 01 0000 09 0000 09" },
        { "typed object", new AmfObject { ClassName = "C", ["a"] = null }, "10 0001 43 0001 61 05 0000 09" },
        { "ecma array", new AmfEcmaArray { ["width"] = 320.0 }, "08 00000001 0005 7769647468 00 4074000000000000 0000 09" },
        { "strict array", new object?[] { 1.0, "a", null }, "0A 00000003 00 3FF0000000000000 02 0001 61 05" },
        { "empty strict array", Array.Empty<object?>(), "0A 00000000" },
        { "date", new AmfDate(1_000.0), "0B 408F400000000000 0000" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, object? decoded, string hex)
    {
        var bytes = Hex.Bytes(hex);
        Assert.True(Amf0Reader.TryRead(bytes, out var value, out int consumed), name);
        Assert.Equal(bytes.Length, consumed);
        AmfAssert.Equal(decoded, value);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, object? decoded, string hex) =>
        Assert.True(Hex.Bytes(hex).AsSpan().SequenceEqual(Hex.Written(w => Amf0Writer.WriteValue(w, decoded))), name);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_truncation_is_a_typed_error(string name, object? decoded, string hex)
    {
        _ = decoded;
        var bytes = Hex.Bytes(hex);
        // ECMA arrays may end with the data instead of an end marker (a tolerated encoder quirk), so their
        // prefixes at property boundaries are valid; every other prefix must be a truncation.
        if (decoded is AmfEcmaArray) return;
        int limit = Math.Min(bytes.Length, 100); // the long string: its first prefixes suffice
        for (int n = 0; n < limit; n++)
        {
            var reader = new Amf0Reader(bytes.AsSpan(0, n));
            Assert.False(reader.TryReadValue(out _), $"{name} at {n}");
            Assert.Equal(AmfError.Truncated, reader.Error);
        }
    }

    public static TheoryData<string, string, AmfError> Errors => new()
    {
        { "unknown marker", "42", AmfError.UnknownMarker },
        { "reference", "07 0001", AmfError.UnsupportedType },
        { "movie clip", "04", AmfError.UnsupportedType },
        { "string longer than the data", "02 0010 6162", AmfError.Truncated },
        { "strict array count beyond the data", "0A FFFFFFFF 05", AmfError.Truncated },
        { "object without end", "03 0001 61 05", AmfError.Truncated },
        { "invalid utf-8", "02 0002 C328", AmfError.InvalidUtf8 },
        { "nesting too deep", string.Concat(Enumerable.Repeat("0A00000001", 40)) + "05", AmfError.TooDeep },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Malformed_values_give_a_typed_error(string name, string hex, AmfError expected)
    {
        var reader = new Amf0Reader(Hex.Bytes(hex));
        Assert.False(reader.TryReadValue(out _), name);
        Assert.Equal(expected, reader.Error);
    }

    [Fact]
    public void Too_many_values_are_refused()
    {
        // A strict array of 70,000 nulls: more values than one message may carry.
        var bytes = Hex.Bytes("0A 00011170").Concat(Enumerable.Repeat((byte)0x05, 70_000)).ToArray();
        var reader = new Amf0Reader(bytes);
        Assert.False(reader.TryReadValue(out _));
        Assert.Equal(AmfError.TooManyValues, reader.Error);
    }

    [Fact]
    public void Ecma_array_without_end_marker_at_the_end_of_the_data_is_accepted()
    {
        Assert.True(Amf0Reader.TryRead(Hex.Bytes("08 00000001 0001 61 01 01"), out var value, out _));
        AmfAssert.Equal(new AmfEcmaArray { ["a"] = true }, value);
    }
}

public class Amf3Tests
{
    public static TheoryData<string, object?, string> Cases => new()
    {
        { "undefined", AmfUndefined.Value, "00" },
        { "null", null, "01" },
        { "false", false, "02" },
        { "true", true, "03" },
        { "integer 1", 1.0, "04 01" },
        { "integer 200 (two bytes)", 200.0, "04 8148" },
        { "integer -1 (29-bit)", -1.0, "04 FFFFFFFF" },
        { "double", 1.5, "05 3FF8000000000000" },
        { "string", "live", "06 09 6C697665" },
        { "date", new AmfDate(1000.0), "08 01 408F400000000000" },
        { "dense array", new object?[] { 1.0, "a" }, "09 05 01 04 01 06 03 61" },
        { "anonymous dynamic object", new AmfObject { ["a"] = true }, "0A 0B 01 03 61 03 01" },
        { "sealed typed object", new AmfObject { ClassName = "C", ["x"] = 2.0 }, "0A 13 03 43 03 78 04 02" },
        { "string reference", new object?[] { "ab", "ab" }, "09 05 01 06 05 6162 06 00" },
        { "byte array", new byte[] { 1, 2 }, "0C 05 0102" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, object? decoded, string hex)
    {
        var bytes = Hex.Bytes(hex);
        var reader = new Amf3Reader(bytes);
        Assert.True(reader.TryReadValue(out var value), $"{name}: {reader.Error}");
        Assert.Equal(bytes.Length, reader.Consumed);
        AmfAssert.Equal(decoded, value);
    }

    [Fact]
    public void Amf0_switches_to_amf3_for_one_value()
    {
        Assert.True(Amf0Reader.TryRead(Hex.Bytes("11 06 09 6C697665"), out var value, out int consumed));
        Assert.Equal("live", value);
        Assert.Equal(7, consumed);
    }

    public static TheoryData<string, string, AmfError> Errors => new()
    {
        { "truncated u29", "04 FF", AmfError.Truncated },
        { "string reference to nothing", "06 00", AmfError.InvalidReference },
        { "object reference to nothing", "0A 02", AmfError.InvalidReference },
        { "traits reference to nothing", "0A 05", AmfError.InvalidReference },
        { "externalizable object", "0A 07 03 43", AmfError.UnsupportedType },
        { "vector", "0D 01", AmfError.UnsupportedType },
        { "unknown marker", "20", AmfError.UnknownMarker },
        { "string longer than data", "06 21 61", AmfError.Truncated },
        { "dense count beyond data", "09 FF FF FF 7F", AmfError.Truncated },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Malformed_values_give_a_typed_error(string name, string hex, AmfError expected)
    {
        var reader = new Amf3Reader(Hex.Bytes(hex));
        Assert.False(reader.TryReadValue(out _), name);
        Assert.Equal(expected, reader.Error);
    }
}

internal static class AmfAssert
{
    public static void Equal(object? expected, object? actual)
    {
        switch (expected)
        {
            case AmfObject e:
            {
                var a = Assert.IsAssignableFrom<AmfObject>(actual);
                Assert.Equal(e.GetType(), a.GetType());
                Assert.Equal(e.ClassName, a.ClassName);
                Assert.Equal(e.Keys, a.Keys);
                foreach (var key in e.Keys) Equal(e[key], a[key]);
                break;
            }
            case object?[] e:
            {
                var a = Assert.IsType<object?[]>(actual);
                Assert.Equal(e.Length, a.Length);
                for (int i = 0; i < e.Length; i++) Equal(e[i], a[i]);
                break;
            }
            default:
                Assert.Equal(expected, actual);
                break;
        }
    }
}
