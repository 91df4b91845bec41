using System.Globalization;
using System.Text;
using System.Xml;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// The CPIX document this server sends a key server (DASH-IF CPIX 2.3, as AWS SPEKE v2.0 profiles it): one content key,
/// named by the KID we chose, with its Common Encryption scheme (CPIX §5.3.3 ContentKey@commonEncryptionScheme); one
/// DRMSystem per system wanted, each asking for its pssh (an empty <c>cpix:PSSH</c>, SPEKE v2 "standard payload
/// components"; none for FairPlay, which has no pssh) and its HLS key tags for media playlists and the master (empty
/// <c>cpix:HLSSignalingData</c> with <c>playlist</c> "media" and "master"); and the encryption contract (§5.3.6 ContentKeyUsageRuleList): the one key protects every track, which
/// SPEKE v2 spells <c>intendedTrackType="ALL"</c> with an empty AudioFilter and VideoFilter. No key value is sent: the key
/// server makes the key (the "encryptor consumer" workflow). With a recipient certificate, the document opens with a
/// §5.3.2 DeliveryDataList naming it (<c>cpix:DeliveryData/cpix:DeliveryKey/ds:X509Data/ds:X509Certificate</c>, the
/// DeliveryKey being an XMLDSIG KeyInfo), so the key server encrypts the key to it (SPEKE v2's encrypted request shape).
/// </summary>
public static class CpixRequest
{
    public const string CpixNamespace = "urn:dashif:org:cpix";
    public const string PskcNamespace = "urn:ietf:params:xml:ns:keyprov:pskc";
    public const string DsNamespace = "http://www.w3.org/2000/09/xmldsig#";
    public const string EncNamespace = "http://www.w3.org/2001/04/xmlenc#";

    /// <summary>The CPIX version SPEKE v2.0 exchanges (its X-Speke-Version is 2.0).</summary>
    public const string Version = "2.3";

    /// <summary>The request's bytes (UTF-8, no byte order mark). <paramref name="contentId"/>: the key server's name for the
    /// content (the channel), the same for every broadcast of it. <paramref name="deliveryCertificate"/>: the DER of the
    /// certificate the key is to be encrypted to, or null for a key in plain.</summary>
    public static byte[] Write(string contentId, KeyId kid, EncryptionScheme scheme, IReadOnlyList<UInt128> systemIds, byte[]? deliveryCertificate = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(contentId);
        ArgumentNullException.ThrowIfNull(systemIds);
        if (scheme == EncryptionScheme.Aes128)
            throw new ArgumentException("CPIX keys here are Common Encryption keys ('cenc' or 'cbcs').", nameof(scheme));
        string kidText = kid.ToUuidString();
        using var body = new MemoryStream();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = false };
        using (var xml = XmlWriter.Create(body, settings))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("cpix", "CPIX", CpixNamespace);
            xml.WriteAttributeString("xmlns", "pskc", null, PskcNamespace);
            xml.WriteAttributeString("contentId", contentId);
            xml.WriteAttributeString("version", Version);

            // CPIX 2.3 XSD CPIXType: DeliveryDataList comes first, before ContentKeyList.
            if (deliveryCertificate is not null)
            {
                xml.WriteAttributeString("xmlns", "ds", null, DsNamespace);
                xml.WriteStartElement("cpix", "DeliveryDataList", CpixNamespace);
                xml.WriteStartElement("cpix", "DeliveryData", CpixNamespace);
                xml.WriteStartElement("cpix", "DeliveryKey", CpixNamespace);
                xml.WriteStartElement("ds", "X509Data", DsNamespace);
                xml.WriteElementString("ds", "X509Certificate", DsNamespace, Convert.ToBase64String(deliveryCertificate));
                xml.WriteEndElement();
                xml.WriteEndElement();
                xml.WriteEndElement();
                xml.WriteEndElement();
            }

            xml.WriteStartElement("cpix", "ContentKeyList", CpixNamespace);
            xml.WriteStartElement("cpix", "ContentKey", CpixNamespace);
            xml.WriteAttributeString("kid", kidText);
            xml.WriteAttributeString("commonEncryptionScheme", EncryptionSchemes.Name(scheme));
            xml.WriteEndElement();
            xml.WriteEndElement();

            xml.WriteStartElement("cpix", "DRMSystemList", CpixNamespace);
            foreach (var system in systemIds)
            {
                xml.WriteStartElement("cpix", "DRMSystem", CpixNamespace);
                xml.WriteAttributeString("kid", kidText);
                xml.WriteAttributeString("systemId", KeyId.UuidText(system));
                // FairPlay has no pssh (its key is signalled in the playlists alone).
                if (system != CpixOptions.FairPlay)
                {
                    xml.WriteStartElement("cpix", "PSSH", CpixNamespace);
                    xml.WriteEndElement();
                }
                foreach (string playlist in (string[])["media", "master"])
                {
                    xml.WriteStartElement("cpix", "HLSSignalingData", CpixNamespace);
                    xml.WriteAttributeString("playlist", playlist);
                    xml.WriteEndElement();
                }
                xml.WriteEndElement();
            }
            xml.WriteEndElement();

            xml.WriteStartElement("cpix", "ContentKeyUsageRuleList", CpixNamespace);
            xml.WriteStartElement("cpix", "ContentKeyUsageRule", CpixNamespace);
            xml.WriteAttributeString("kid", kidText);
            xml.WriteAttributeString("intendedTrackType", "ALL");
            xml.WriteStartElement("cpix", "AudioFilter", CpixNamespace);
            xml.WriteEndElement();
            xml.WriteStartElement("cpix", "VideoFilter", CpixNamespace);
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndElement();

            xml.WriteEndElement();
            xml.WriteEndDocument();
        }
        return body.ToArray();
    }

    /// <summary>A UUID's text (RFC 9562 §4, with or without dashes, either case) as 128 bits in network order, or null.</summary>
    public static UInt128? ParseUuid(string? text)
    {
        if (text is null) return null;
        string hex = text.Trim().Replace("-", "", StringComparison.Ordinal);
        if (hex.Length != 32 || !hex.All(char.IsAsciiHexDigit)) return null;
        return UInt128.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
    }
}
