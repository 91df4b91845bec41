using System.Buffers.Binary;
using System.Xml;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// Why a key server's answer was not taken: the message names what was wrong (never a key's value). The broadcast's
/// packaging does not start.
/// </summary>
public sealed class CpixRefusedException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a key server answered for one KID: the content key and each asked DRM system's pssh box, in the order asked.</summary>
public sealed record CpixKeys(ContentKey Key, IReadOnlyList<ProtectionSystem> Systems, IReadOnlyList<HlsKeyTags> HlsKeys);

/// <summary>
/// Reads a key server's CPIX answer (CPIX 2.3 §5.3: the request document filled in). Taken from it: the ContentKey of the
/// asked KID, its key as <c>cpix:Data/pskc:Secret/pskc:PlainValue</c> (base64 of 16 bytes) or <c>pskc:EncryptedValue</c>
/// with its <c>pskc:ValueMAC</c>, under the document key of the §5.3.2 DeliveryData made for this node's recipient
/// certificate (<see cref="CpixDeliveryData"/>; refused when the node has none), and for each system asked the
/// DRMSystem of that KID and system, its <c>cpix:PSSH</c> (base64 of one whole pssh box, ISO/IEC 23001-7 §8.1, whose
/// SystemID must be that system's; FairPlay has none), and its <c>cpix:HLSSignalingData</c> for the "media" and "master"
/// playlists (base64 of the EXT-X-KEY and EXT-X-SESSION-KEY tag; optional but for FairPlay, whose key only they signal;
/// a master tag not given is the media one renamed), each checked to be one tag line of the broadcast's METHOD.
/// Everything else (ContentProtectionData, usage rules, update history) is passed over. The XML is read with no DTD, no external resolution, a character cap and a depth cap, so an answer can
/// cost no more than its bytes; any fault is a <see cref="CpixRefusedException"/>.
/// </summary>
public static class CpixAnswer
{
    /// <summary>Deeper than any CPIX element this reads (CPIX/ContentKeyList/ContentKey/Data/Secret/PlainValue is 6).</summary>
    public const int MaxDepth = 16;

    /// <summary>A pssh box longer than this is refused (a Widevine or PlayReady header is a few hundred bytes to a few KiB).</summary>
    public const int MaxPsshBytes = 64 * 1024;

    /// <param name="recipient">This node's recipient key, which an encrypted key needs; null when none is configured.</param>
    public static CpixKeys Read(ReadOnlySpan<byte> answer, KeyId asked, EncryptionScheme scheme, IReadOnlyList<UInt128> systemIds,
        CpixRecipient? recipient = null)
    {
        ArgumentNullException.ThrowIfNull(systemIds);
        var parsed = Parse(answer.ToArray());
        return Check(parsed, asked, EncryptionSchemes.Name(scheme), systemIds, recipient);
    }

    private sealed record Answered(string? Kid, string? SystemId, string? Pssh, string? Media, string? Master);

    private sealed record Parsed(List<(string? Kid, string? Plain, EncryptedKeyValue? Encrypted)> Keys, List<Answered> Systems, CpixDeliveryData Delivery);

    private static Parsed Parse(byte[] answer)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 0,
            MaxCharactersInDocument = Math.Max(1, answer.Length),
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
            CloseInput = true,
        };
        var keys = new List<(string?, string?, EncryptedKeyValue?)>();
        var systems = new List<Answered>();
        var delivery = new CpixDeliveryData();
        try
        {
            using var reader = XmlReader.Create(new MemoryStream(answer, writable: false), settings);
            if (reader.MoveToContent() != XmlNodeType.Element || !Is(reader, "CPIX"))
                throw new CpixRefusedException("the answer is not a CPIX document (its root is not cpix:CPIX in urn:dashif:org:cpix)");
            string? keyKid = null, plain = null, pssh = null, systemKid = null, systemId = null, media = null, master = null;
            EncryptedKeyValue? encrypted = null;
            bool inKey = false, inSystem = false;
            reader.Read();
            while (!reader.EOF)
            {
                if (reader.Depth > MaxDepth) throw new CpixRefusedException($"the answer nests deeper than {MaxDepth} elements");
                if (reader.NodeType == XmlNodeType.Element)
                {
                    if (!inKey && !inSystem && (delivery.Inside || Is(reader, "DeliveryData")))
                    {
                        // Reading a value moves past its end tag: the loop must not read again.
                        if (delivery.Element(reader)) continue;
                    }
                    else if (Is(reader, "ContentKey") && !inKey && !inSystem)
                    {
                        (inKey, keyKid, plain, encrypted) = (!reader.IsEmptyElement, reader.GetAttribute("kid"), null, null);
                        if (!inKey) keys.Add((keyKid, null, null));
                    }
                    else if (Is(reader, "DRMSystem") && !inKey && !inSystem)
                    {
                        (inSystem, systemKid, systemId, pssh, media, master) =
                            (!reader.IsEmptyElement, reader.GetAttribute("kid"), reader.GetAttribute("systemId"), null, null, null);
                        if (!inSystem) systems.Add(new Answered(systemKid, systemId, null, null, null));
                    }
                    else if (inKey && reader.NamespaceURI == CpixRequest.PskcNamespace && reader.LocalName == "PlainValue")
                    {
                        // Reading the content moves past the end tag: the loop must not read again.
                        plain = Once(plain, reader.ReadElementContentAsString(), "pskc:PlainValue");
                        continue;
                    }
                    else if (inKey && reader.NamespaceURI == CpixRequest.PskcNamespace && reader.LocalName == "EncryptedValue")
                        encrypted = encrypted is null ? new EncryptedKeyValue() : throw new CpixRefusedException("a key's answer has pskc:EncryptedValue twice");
                    else if (inKey && encrypted is not null && encrypted.Value.Take(reader, "the key's"))
                        continue;
                    else if (inKey && reader.NamespaceURI == CpixRequest.PskcNamespace && reader.LocalName == "ValueMAC")
                    {
                        string mac = reader.ReadElementContentAsString();
                        if (encrypted is not null) encrypted.Mac = Once(encrypted.Mac, mac, "pskc:ValueMAC");
                        continue;
                    }
                    else if (inSystem && Is(reader, "PSSH"))
                    {
                        pssh = Once(pssh, reader.ReadElementContentAsString(), "cpix:PSSH");
                        continue;
                    }
                    else if (inSystem && Is(reader, "HLSSignalingData"))
                    {
                        string? playlist = reader.GetAttribute("playlist");
                        string text = reader.ReadElementContentAsString();
                        // CPIX §5.3.4: no playlist attribute means the media playlist's.
                        if (playlist is null or "media") media = Once(media, text, "media cpix:HLSSignalingData");
                        else if (playlist == "master") master = Once(master, text, "master cpix:HLSSignalingData");
                        continue;
                    }
                }
                else if (reader.NodeType == XmlNodeType.EndElement)
                {
                    if (delivery.Inside) delivery.EndElement(reader);
                    else if (inKey && Is(reader, "ContentKey"))
                    {
                        keys.Add((keyKid, plain, encrypted));
                        inKey = false;
                    }
                    else if (inSystem && Is(reader, "DRMSystem"))
                    {
                        systems.Add(new Answered(systemKid, systemId, pssh, media, master));
                        inSystem = false;
                    }
                }
                reader.Read();
            }
        }
        catch (XmlException e)
        {
            throw new CpixRefusedException($"the answer is not well-formed XML: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new CpixRefusedException($"the answer's XML could not be read: {e.Message}", e);
        }
        return new Parsed(keys, systems, delivery);
    }

    private static CpixKeys Check(Parsed parsed, KeyId asked, string scheme, IReadOnlyList<UInt128> systemIds, CpixRecipient? recipient)
    {
        if (parsed.Keys.Count == 0) throw new CpixRefusedException("the answer has no cpix:ContentKey");
        foreach (var (kid, _, _) in parsed.Keys)
        {
            if (CpixRequest.ParseUuid(kid) is not { } k)
                throw new CpixRefusedException($"a cpix:ContentKey's kid is not a UUID ('{Shown(kid)}')");
            if (k != asked.Value)
                throw new CpixRefusedException($"the answer has a key for KID {KeyId.UuidText(k)}, which was not asked (asked {asked})");
        }
        if (parsed.Keys.Count > 1) throw new CpixRefusedException($"the answer has {parsed.Keys.Count} cpix:ContentKey elements for KID {asked}");
        var (_, plain, encrypted) = parsed.Keys[0];
        if (plain is not null && encrypted is not null) throw new CpixRefusedException("the key is given both as pskc:PlainValue and pskc:EncryptedValue");
        if (plain is null && encrypted is null)
            throw new CpixRefusedException($"the answer has no key for KID {asked} (no cpix:Data/pskc:Secret/pskc:PlainValue or pskc:EncryptedValue)");
        // A plain key is taken even when a recipient key is configured: it came over the https (or loopback) the URL must be.
        byte[] key = encrypted is not null ? parsed.Delivery.Decrypt(encrypted, recipient) : Base64(plain!, "the key (pskc:PlainValue)");
        try
        {
            if (key.Length != 16) throw new CpixRefusedException($"the key for KID {asked} is {key.Length} bytes, not 16 (AES-128)");
            var content = new ContentKey(asked, key);
            var found = new List<ProtectionSystem>(systemIds.Count);
            var hls = new List<HlsKeyTags>();
            foreach (var system in systemIds)
            {
                string name = KeyId.UuidText(system);
                var matches = parsed.Systems.Where(s => CpixRequest.ParseUuid(s.SystemId) == system).ToList();
                if (matches.Count == 0) throw new CpixRefusedException($"the answer has no cpix:DRMSystem for system {name}");
                if (matches.Count > 1) throw new CpixRefusedException($"the answer has {matches.Count} cpix:DRMSystem elements for system {name}");
                var answered = matches[0];
                if (CpixRequest.ParseUuid(answered.Kid) != asked.Value)
                    throw new CpixRefusedException($"the cpix:DRMSystem for system {name} names KID '{Shown(answered.Kid)}', not the asked {asked}");
                if (HlsTags(answered, system, name, scheme) is { } tags) hls.Add(tags);
                else if (system == CpixOptions.FairPlay)
                    throw new CpixRefusedException($"the cpix:DRMSystem for FairPlay ({name}) has no media cpix:HLSSignalingData, its only signaling");
                if (system == CpixOptions.FairPlay) continue;
                string? text = answered.Pssh;
                if (string.IsNullOrWhiteSpace(text)) throw new CpixRefusedException($"the cpix:DRMSystem for system {name} has no cpix:PSSH");
                byte[] pssh = Base64(text, $"the pssh of system {name}");
                if (pssh.Length > MaxPsshBytes) throw new CpixRefusedException($"the pssh of system {name} is {pssh.Length} bytes, over {MaxPsshBytes}");
                try
                {
                    ProtectionSystemHeader.Validate(pssh);
                }
                catch (InvalidDataException e)
                {
                    throw new CpixRefusedException($"the pssh of system {name} is not one pssh box: {e.Message}", e);
                }
                // ISO/IEC 23001-7 §8.1.2: SystemID follows the full box header (12 bytes).
                var inBox = BinaryPrimitives.ReadUInt128BigEndian(pssh.AsSpan(12, 16));
                if (inBox != system) throw new CpixRefusedException($"the pssh given for system {name} is system {KeyId.UuidText(inBox)}'s");
                found.Add(new ProtectionSystem(system, pssh));
            }
            return new CpixKeys(content, found, hls);
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>A system's HLS key tags, checked; null when it gave none.</summary>
    private static HlsKeyTags? HlsTags(Answered answered, UInt128 system, string name, string scheme)
    {
        if (string.IsNullOrWhiteSpace(answered.Media))
            return string.IsNullOrWhiteSpace(answered.Master) ? null
                : throw new CpixRefusedException($"the cpix:DRMSystem for system {name} has a master cpix:HLSSignalingData but no media one");
        string media = Tag(answered.Media, "#EXT-X-KEY:", $"the media HLS key tag of system {name}", scheme);
        string master = string.IsNullOrWhiteSpace(answered.Master)
            ? "#EXT-X-SESSION-KEY:" + media["#EXT-X-KEY:".Length..]
            : Tag(answered.Master, "#EXT-X-SESSION-KEY:", $"the master HLS key tag of system {name}", scheme);
        return new HlsKeyTags(system, media, master);
    }

    private static string Tag(string base64, string tag, string what, string scheme)
    {
        byte[] bytes = Base64(base64, what);
        if (bytes.Length > HlsContentProtection.MaxVendorTagLength + 2)
            throw new CpixRefusedException($"{what} is longer than {HlsContentProtection.MaxVendorTagLength} characters");
        try
        {
            // Decoded as UTF-8 so that a byte outside ASCII stays one (and is refused) rather than turning into '?'.
            return HlsContentProtection.CheckVendorTag(System.Text.Encoding.UTF8.GetString(bytes), tag, scheme);
        }
        catch (InvalidDataException e)
        {
            throw new CpixRefusedException($"{what} is refused: {e.Message}", e);
        }
    }

    private static bool Is(XmlReader reader, string localName) => reader.NamespaceURI == CpixRequest.CpixNamespace && reader.LocalName == localName;

    private static string Once(string? had, string now, string what) =>
        had is null ? now : throw new CpixRefusedException($"a key's answer has {what} twice");

    private static byte[] Base64(string text, string what)
    {
        try
        {
            return Convert.FromBase64String(text.Trim());
        }
        catch (FormatException e)
        {
            // The text itself is not repeated: it may be most of a key.
            throw new CpixRefusedException($"{what} is not valid base64", e);
        }
    }

    /// <summary>An attribute as a refusal quotes it: short, printable.</summary>
    private static string Shown(string? text) =>
        text is null ? "(none)" : new string(text.Take(40).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
