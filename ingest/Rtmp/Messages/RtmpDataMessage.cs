namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// A data message (RTMP 1.0 §7.1.2): AMF0 (type 18) or type 15 (format byte 0 then AMF0, as encoders send it).
/// Encoders publish metadata as <c>@setDataFrame, "onMetaData", {…}</c> (ffmpeg, OBS) or <c>onMetaData, {…}</c>.
/// </summary>
public sealed record RtmpDataMessage(string Name, IReadOnlyList<object?> Values)
{
    public const string SetDataFrame = "@setDataFrame";
    public const string OnMetaData = "onMetaData";

    public static bool TryRead(ReadOnlySpan<byte> payload, bool amf3Envelope, out RtmpDataMessage? message, out AmfError error)
    {
        message = null;
        int start = amf3Envelope && payload.Length > 0 && payload[0] == 0 ? 1 : 0;
        var reader = new Amf0Reader(payload[start..]);
        if (!reader.TryReadValue(out object? first))
        {
            error = reader.Error;
            return false;
        }
        if (first is not string name)
        {
            error = AmfError.UnsupportedValue;
            return false;
        }
        var values = new List<object?>();
        while (!reader.End)
        {
            if (!reader.TryReadValue(out object? value))
            {
                error = reader.Error;
                return false;
            }
            values.Add(value);
        }
        message = new RtmpDataMessage(name, values);
        error = AmfError.None;
        return true;
    }

    /// <summary>Writes the AMF0 payload (type 18): the name, then each value.</summary>
    public void Write(System.Buffers.IBufferWriter<byte> writer)
    {
        Amf0Writer.WriteString(writer, Name);
        foreach (var value in Values) Amf0Writer.WriteValue(writer, value);
    }

    /// <summary>The onMetaData properties, whether sent directly or through @setDataFrame.</summary>
    public bool TryGetMetadata(out IReadOnlyDictionary<string, object?> metadata)
    {
        metadata = null!;
        int index;
        if (Name == SetDataFrame && Values.Count >= 2 && Values[0] is OnMetaData) index = 1;
        else if (Name == OnMetaData && Values.Count >= 1) index = 0;
        else return false;
        if (Values[index] is not AmfObject obj) return false;
        metadata = new Dictionary<string, object?>(obj, StringComparer.Ordinal);
        return true;
    }
}
