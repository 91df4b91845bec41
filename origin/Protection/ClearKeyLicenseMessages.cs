using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Origin.Protection;

/// <summary>A ClearKey license request as read: the KIDs asked for, in order, without repeats.</summary>
public sealed record ClearKeyLicenseRequest(IReadOnlyList<KeyId> KeyIds);

/// <summary>
/// The W3C Clear Key license exchange (Encrypted Media Extensions §9.1.3 and §9.1.4): the CDM's request
/// <c>{"kids":["base64url KID",…],"type":"temporary"}</c> and the answer <c>{"keys":[{"kty":"oct","kid":…,"k":…}],
/// "type":"temporary"}</c>, a JSON Web Key Set (RFC 7517) whose values are base64url without padding (RFC 7515 §2). No HTTP
/// here: the endpoint reads the body and calls these.
/// </summary>
public static class ClearKeyLicenseMessages
{
    /// <summary>The most bytes a request body may have: 16 KIDs take about 420.</summary>
    public const int MaxRequestBytes = 4096;

    /// <summary>The most KIDs one request may ask for (a broadcast has one; a player asks for those of its init segments).</summary>
    public const int MaxKeyIds = 16;

    private const string Temporary = "temporary";

    /// <summary>
    /// Reads a request; null with <paramref name="error"/> (a sentence fit for a 400 answer) when it is not one: not JSON,
    /// not an object, no <c>kids</c> array, an empty one or one over <see cref="MaxKeyIds"/>, a KID that is not 16 bytes of
    /// base64url, a <c>type</c> other than "temporary" (persistent licenses are not offered), or over
    /// <see cref="MaxRequestBytes"/>. Other members are ignored, as JSON readers do.
    /// </summary>
    public static ClearKeyLicenseRequest? TryRead(ReadOnlySpan<byte> json, out string? error)
    {
        if (json.Length > MaxRequestBytes) return Fail($"The request is over {MaxRequestBytes} bytes.", out error);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4, CommentHandling = JsonCommentHandling.Disallow });
        List<KeyId>? kids = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return Fail("The request is not a JSON object.", out error);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("kids"u8))
                {
                    if (kids is not null) return Fail("\"kids\" appears twice.", out error);
                    kids = ReadKeyIds(ref reader, out error);
                    if (kids is null) return null;
                }
                else if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String || !reader.ValueTextEquals(Temporary))
                        return Fail("\"type\" is \"temporary\": persistent licenses are not offered.", out error);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject) return Fail("The request is not a JSON object.", out error);
            // Anything after the object (a second value, stray bytes) is malformed: Read throws on it.
            _ = reader.Read();
        }
        catch (JsonException)
        {
            return Fail("The request is not well-formed JSON.", out error);
        }

        if (kids is null) return Fail("The request has no \"kids\" array.", out error);
        error = null;
        return new ClearKeyLicenseRequest(kids);
    }

    private static List<KeyId>? ReadKeyIds(ref Utf8JsonReader reader, out string? error)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray) return FailList("\"kids\" is not an array.", out error);
        var kids = new List<KeyId>();
        Span<byte> bytes = stackalloc byte[24];
        int entries = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String) return FailList("A key ID is not a string.", out error);
            // Counted as sent, repeats too: the cap bounds the work a request asks for.
            if (++entries > MaxKeyIds) return FailList($"The request asks for more than {MaxKeyIds} key IDs.", out error);
            // A 16-byte KID is 22 characters of base64url without padding; escapes are not base64url.
            if (reader.ValueIsEscaped || reader.ValueSpan.Length != 22
                || Base64Url.DecodeFromUtf8(reader.ValueSpan, bytes, out _, out int written) != OperationStatus.Done || written != 16)
                return FailList("A key ID is not 16 bytes of base64url without padding.", out error);
            var kid = KeyId.FromBytes(bytes[..16]);
            if (!kids.Contains(kid)) kids.Add(kid);
        }

        if (kids.Count == 0) return FailList("\"kids\" is empty.", out error);
        error = null;
        return kids;
    }

    /// <summary>The answer for <paramref name="keys"/>: each its KID and key in base64url without padding.</summary>
    public static byte[] WriteResponse(IReadOnlyList<ContentKey> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var output = new ArrayBufferWriter<byte>(64 + keys.Count * 96);
        using (var writer = new Utf8JsonWriter(output))
        {
            Span<byte> bytes = stackalloc byte[16];
            writer.WriteStartObject();
            writer.WriteStartArray("keys"u8);
            foreach (var key in keys)
            {
                writer.WriteStartObject();
                writer.WriteString("kty"u8, "oct"u8);
                key.Id.CopyTo(bytes);
                writer.WriteString("kid"u8, Base64Url.EncodeToString(bytes));
                key.CopyKeyTo(bytes);
                writer.WriteString("k"u8, Base64Url.EncodeToString(bytes));
                writer.WriteEndObject();
            }

            bytes.Clear();
            writer.WriteEndArray();
            writer.WriteString("type"u8, Temporary);
            writer.WriteEndObject();
        }

        return output.WrittenSpan.ToArray();
    }

    private static ClearKeyLicenseRequest? Fail(string reason, out string? error)
    {
        error = reason;
        return null;
    }

    private static List<KeyId>? FailList(string reason, out string? error)
    {
        error = reason;
        return null;
    }
}
