namespace Broadcast.Ingest.Rtmp;

/// <summary>AMF0 type markers (AMF0 spec §2.1).</summary>
public enum Amf0Marker : byte
{
    Number = 0x00,
    Boolean = 0x01,
    String = 0x02,
    Object = 0x03,
    MovieClip = 0x04,
    Null = 0x05,
    Undefined = 0x06,
    Reference = 0x07,
    EcmaArray = 0x08,
    ObjectEnd = 0x09,
    StrictArray = 0x0A,
    Date = 0x0B,
    LongString = 0x0C,
    Unsupported = 0x0D,
    RecordSet = 0x0E,
    XmlDocument = 0x0F,
    TypedObject = 0x10,
    AvmPlusObject = 0x11,
}

/// <summary>The AMF undefined value (AMF0 §2.8), distinct from null.</summary>
public sealed class AmfUndefined
{
    public static readonly AmfUndefined Value = new();

    private AmfUndefined()
    {
    }

    public override string ToString() => "undefined";
}

/// <summary>An anonymous AMF object (AMF0 §2.5): ordered name/value pairs. .NET's Dictionary keeps insertion order while nothing is
/// removed.</summary>
public class AmfObject : Dictionary<string, object?>
{
    public AmfObject()
        : base(StringComparer.Ordinal)
    {
    }

    public AmfObject(IEnumerable<KeyValuePair<string, object?>> items)
        : base(items, StringComparer.Ordinal)
    {
    }

    /// <summary>Class name of a typed object (AMF0 §2.18) or AMF3 trait; null for anonymous objects.</summary>
    public string? ClassName { get; init; }
}

/// <summary>An ECMA (associative) array (AMF0 §2.10); onMetaData is usually one.</summary>
public sealed class AmfEcmaArray : AmfObject
{
    public AmfEcmaArray()
    {
    }

    public AmfEcmaArray(IEnumerable<KeyValuePair<string, object?>> items)
        : base(items)
    {
    }
}

/// <summary>An AMF date (AMF0 §2.13): milliseconds since the Unix epoch as a double, and a time-zone field that must be ignored.</summary>
public readonly record struct AmfDate(double MillisecondsSinceEpoch, short TimeZone = 0);

public enum AmfError
{
    None,
    Truncated,
    UnknownMarker,
    UnsupportedType,
    TooDeep,
    TooManyValues,
    InvalidUtf8,
    InvalidReference,
    UnsupportedValue,
}

/// <summary>Limits that keep a hostile AMF payload from using unbounded stack or memory.</summary>
public static class AmfLimits
{
    public const int MaxDepth = 32;
    public const int MaxValues = 65536;
}
