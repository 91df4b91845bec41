using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Broadcast.Server.Tests.Protection;

/// <summary>How the stand-in answers.</summary>
public enum StandInBehaviour
{
    Good,
    MalformedXml,
    Oversized,
    Slow,
    WrongKid,
    MissingKey,
    BadBase64,
    BadPssh,
    BadHlsTag,
    EncryptedKey,
    ServerError,
}

/// <summary>How the stand-in signs its answers, when it has an <see cref="CpixKeyServerStandIn.AnswerSigner"/>.</summary>
public enum AnswerSigning
{
    /// <summary>As <see cref="CpixSigner"/> signs: the whole document, RSA with SHA-512.</summary>
    Whole,

    /// <summary>Signed whole, then a pssh byte changed.</summary>
    ChangedAfter,

    /// <summary>Signed whole, then a ContentKey of the asked KID with another key slipped into the signature's ds:Object.</summary>
    KeySlippedIn,

    /// <summary>RSA with SHA-1 and a SHA-1 digest.</summary>
    Sha1,

    /// <summary>Only the ContentKeyList, by its id (CPIX lets a document sign its lists one by one).</summary>
    ListOnly,
}

/// <summary>
/// A test-only stand-in for a DRM vendor's key server, on 127.0.0.1 with a free port: it answers a CPIX 2.3 request
/// (SPEKE v2) by filling it in, a key for the asked KID (derived from the content ID and KID under the stand-in's own
/// secret, so the same KID is always the same key, as a vendor's key server keeps them) and for each DRMSystem asked a
/// version 1 pssh box of that system naming the KID (none for FairPlay) and the HLS key tags asked for, in the shape
/// vendors give them (FairPlay's skd:// URI, the others' pssh as a data URI under their urn:uuid KEYFORMAT). A request naming a
/// recipient certificate (cpix:DeliveryDataList) gets its key encrypted to it (<see cref="CpixEncryptedAnswer"/>), broken as
/// <see cref="Breakage"/> says, or plain with <see cref="AnswerPlain"/>. <see cref="Behaviour"/> makes it misbehave; its
/// <see cref="StandInBehaviour.EncryptedKey"/> encrypts to a certificate of the stand-in's own when the request named none.
/// With <see cref="TrustedSigner"/> set it answers only requests signed as a whole by that certificate's key (CPIX 2.3
/// §"Digital Signature", verified by .NET's <see cref="SignedXml"/>), 403 otherwise; the request's signature is taken
/// out of the document it fills in, as CPIX says a modified document's must be.
/// </summary>
public sealed class CpixKeyServerStandIn : IAsyncDisposable
{
    private static readonly XNamespace Cpix = CpixRequest.CpixNamespace;
    private static readonly XNamespace Pskc = CpixRequest.PskcNamespace;
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private readonly WebApplication _app;
    private int _requests;

    public StandInBehaviour Behaviour { get; set; }

    /// <summary>How an encrypted answer is broken.</summary>
    public EncryptedBreakage Breakage { get; set; }

    /// <summary>Answers pskc:PlainValue even to a request naming a recipient certificate.</summary>
    public bool AnswerPlain { get; set; }

    /// <summary>The certificate whose key must have signed each request; null: requests need no signature.</summary>
    public X509Certificate2? TrustedSigner { get; set; }

    /// <summary>The key and certificate that sign every answer, as <see cref="AnswerSigning"/> says; null: answers go unsigned.</summary>
    public (RSA Key, X509Certificate2 Certificate)? AnswerSigner { get; set; }

    public AnswerSigning AnswerSigning { get; set; }

    /// <summary>Why the last request's signature was refused, or null.</summary>
    public string? LastSignatureRefusal { get; private set; }

    /// <summary>The recipient certificate the last request named (base64 DER), or null.</summary>
    public string? LastDeliveryCertificate { get; private set; }

    private static readonly Lazy<byte[]> OwnCertificate = new(() =>
    {
        using var key = RSA.Create(2048);
        using var certificate = CpixEncryptedAnswer.Certificate(key, "CN=stand-in");
        return certificate.RawData;
    });

    /// <summary>The last request's body and headers, as received.</summary>
    public string? LastRequest { get; private set; }

    public IReadOnlyDictionary<string, string>? LastHeaders { get; private set; }

    /// <summary>The last answer's body, as sent.</summary>
    public string? LastAnswer { get; private set; }

    public int Requests => Volatile.Read(ref _requests);

    public Uri Url { get; private set; } = null!;

    private CpixKeyServerStandIn()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.MapPost("/speke/v2.0/copyProtection", AnswerAsync);
    }

    public static async Task<CpixKeyServerStandIn> StartAsync()
    {
        var standIn = new CpixKeyServerStandIn();
        await standIn._app.StartAsync();
        standIn.Url = new Uri(new Uri(standIn._app.Urls.First()), "/speke/v2.0/copyProtection");
        return standIn;
    }

    /// <summary>The key the stand-in gives for a content ID and KID.</summary>
    public byte[] KeyFor(string contentId, KeyId kid) =>
        HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes($"{contentId}/{kid}"))[..16];

    /// <summary>The pssh the stand-in gives for a system and KID.</summary>
    public static byte[] PsshFor(UInt128 system, KeyId kid) =>
        ProtectionSystemHeader.Create(system, [kid], Encoding.ASCII.GetBytes("stand-in " + KeyId.UuidText(system)));

    /// <summary>The key tag the stand-in gives for a system, playlist tag and KID.</summary>
    public static string HlsTagFor(string tag, UInt128 system, KeyId kid, string scheme)
    {
        string method = scheme == "cenc" ? "SAMPLE-AES-CTR" : "SAMPLE-AES";
        return system == CpixOptions.FairPlay
            ? $"{tag}METHOD={method},URI=\"skd://stand-in/{kid}\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\""
            : $"{tag}METHOD={method},URI=\"data:text/plain;base64,{Convert.ToBase64String(PsshFor(system, kid))}\",KEYID=0x{Convert.ToHexString(kid.ToArray())}," +
              $"KEYFORMAT=\"urn:uuid:{KeyId.UuidText(system)}\",KEYFORMATVERSIONS=\"1\"";
    }

    private async Task AnswerAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var read = new StreamReader(context.Request.Body, Encoding.UTF8);
        string body = await read.ReadToEndAsync(context.RequestAborted);
        LastRequest = body;
        // Copied: the server reuses the request's header collection once the request ends.
        LastHeaders = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        context.Response.ContentType = "application/xml";
        context.Response.Headers["X-Speke-Version"] = context.Request.Headers["X-Speke-Version"];
        context.Response.Headers["X-Speke-User-Agent"] = "cpix-stand-in";
        switch (Behaviour)
        {
            case StandInBehaviour.ServerError:
                context.Response.StatusCode = 500;
                return;
            case StandInBehaviour.Slow:
                try { await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted); } catch (OperationCanceledException) { }
                return;
            case StandInBehaviour.Oversized:
                // A well-formed start that goes on past any sane cap, sent without a Content-Length.
                await context.Response.WriteAsync("<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\"><!--", context.RequestAborted);
                var chunk = new string('x', 64 * 1024);
                for (int i = 0; i < 40 && !context.RequestAborted.IsCancellationRequested; i++)
                    await context.Response.WriteAsync(chunk, context.RequestAborted);
                return;
        }
        if (TrustedSigner is { } signer && (LastSignatureRefusal = SignatureRefusal(body, signer)) is { } refusal)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(refusal, context.RequestAborted);
            return;
        }
        var document = XDocument.Parse(body);
        string contentId = document.Root!.Attribute("contentId")!.Value;
        document.Root.Elements(XName.Get("Signature", CpixRequest.DsNamespace)).Remove();
        LastDeliveryCertificate = document.Descendants(Cpix + "DeliveryKey").Descendants(XName.Get("X509Certificate", CpixRequest.DsNamespace))
            .FirstOrDefault()?.Value;
        foreach (var contentKey in document.Descendants(Cpix + "ContentKey"))
        {
            var kid = KeyId.FromBytes(Convert.FromHexString(contentKey.Attribute("kid")!.Value.Replace("-", "", StringComparison.Ordinal)));
            if (Behaviour == StandInBehaviour.WrongKid)
                contentKey.SetAttributeValue("kid", KeyId.FromBytes(RandomNumberGenerator.GetBytes(16)).ToUuidString());
            XElement value = Behaviour switch
            {
                StandInBehaviour.BadBase64 => new XElement(Pskc + "PlainValue", "not*base64!"),
                _ => new XElement(Pskc + "PlainValue", Convert.ToBase64String(KeyFor(contentId, kid))),
            };
            if (Behaviour != StandInBehaviour.MissingKey)
                contentKey.Add(new XElement(Cpix + "Data", new XElement(Pskc + "Secret", value)));
        }
        if (!AnswerPlain && (LastDeliveryCertificate is not null || Behaviour == StandInBehaviour.EncryptedKey))
            CpixEncryptedAnswer.Encrypt(document, LastDeliveryCertificate is { } named ? Convert.FromBase64String(named) : OwnCertificate.Value,
                kid => KeyFor(contentId, kid), Breakage);
        foreach (var system in document.Descendants(Cpix + "DRMSystem"))
        {
            var kid = KeyId.FromBytes(Convert.FromHexString(system.Attribute("kid")!.Value.Replace("-", "", StringComparison.Ordinal)));
            var systemId = CpixRequest.ParseUuid(system.Attribute("systemId")!.Value)!.Value;
            byte[] pssh = PsshFor(systemId, kid);
            if (Behaviour == StandInBehaviour.BadPssh) pssh[3] ^= 0x01; // its size no longer its length
            if (system.Element(Cpix + "PSSH") is { } psshElement) psshElement.Value = Convert.ToBase64String(pssh);
            string scheme = document.Descendants(Cpix + "ContentKey").First().Attribute("commonEncryptionScheme")!.Value;
            foreach (var signaling in system.Elements(Cpix + "HLSSignalingData"))
            {
                string tag = signaling.Attribute("playlist")?.Value == "master" ? "#EXT-X-SESSION-KEY:" : "#EXT-X-KEY:";
                string line = HlsTagFor(tag, systemId, kid, scheme);
                if (Behaviour == StandInBehaviour.BadHlsTag) line += "\n#EXT-X-ENDLIST";
                signaling.Value = Convert.ToBase64String(Encoding.UTF8.GetBytes(line));
            }
            // What a vendor adds beside, which the reader passes over (CPIX §5.3.4).
            system.Add(new XElement(Cpix + "ContentProtectionData", Convert.ToBase64String(Encoding.UTF8.GetBytes("<cenc:pssh>…</cenc:pssh>"))));
        }
        string answer = document.Declaration + document.ToString(SaveOptions.DisableFormatting);
        if (AnswerSigner is { } answerSigner) answer = SignAnswer(answer, answerSigner.Key, answerSigner.Certificate, AnswerSigning);
        if (Behaviour == StandInBehaviour.MalformedXml) answer = answer[..(answer.Length * 2 / 3)];
        LastAnswer = answer;
        await context.Response.WriteAsync(answer, context.RequestAborted);
    }

    /// <summary>The answer signed with .NET's <see cref="SignedXml"/> as <paramref name="how"/> says (an enveloped signature,
    /// the last child of cpix:CPIX, the certificate in its KeyInfo), and broken after signing where it says so.</summary>
    private static string SignAnswer(string answer, RSA key, X509Certificate2 certificate, AnswerSigning how)
    {
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        xml.LoadXml(answer);
        var signed = new SignedXml(xml) { SigningKey = key };
        signed.SignedInfo!.CanonicalizationMethod = SignedXml.XmlDsigExcC14NTransformUrl;
        signed.SignedInfo.SignatureMethod = how == AnswerSigning.Sha1 ? SignedXml.XmlDsigRSASHA1Url : SignedXml.XmlDsigRSASHA512Url;
        var cpix = new XmlNamespaceManager(xml.NameTable);
        cpix.AddNamespace("cpix", CpixRequest.CpixNamespace);
        var reference = new Reference { Uri = "", DigestMethod = how == AnswerSigning.Sha1 ? SignedXml.XmlDsigSHA1Url : SignedXml.XmlDsigSHA512Url };
        if (how == AnswerSigning.ListOnly)
        {
            ((XmlElement)xml.SelectSingleNode("/cpix:CPIX/cpix:ContentKeyList", cpix)!).SetAttribute("id", "keys");
            reference.Uri = "#keys";
        }
        else
        {
            reference.AddTransform(new XmlDsigEnvelopedSignatureTransform());
        }
        reference.AddTransform(new XmlDsigExcC14NTransform());
        signed.AddReference(reference);
        var keyInfo = new KeyInfo();
        keyInfo.AddClause(new KeyInfoX509Data(certificate));
        signed.KeyInfo = keyInfo;
        signed.ComputeSignature();
        var signature = (XmlElement)xml.DocumentElement!.AppendChild(xml.ImportNode(signed.GetXml(), deep: true))!;
        switch (how)
        {
            case AnswerSigning.ChangedAfter:
                var pssh = xml.SelectSingleNode("//cpix:PSSH", cpix)!;
                var bytes = Convert.FromBase64String(pssh.InnerText);
                bytes[^1] ^= 0x01;
                pssh.InnerText = Convert.ToBase64String(bytes);
                break;
            case AnswerSigning.KeySlippedIn:
                // Outside what the enveloped-signature transform leaves to digest, so the signature still verifies.
                var kid = xml.SelectSingleNode("//cpix:ContentKey/@kid", cpix)!.Value!;
                var slipped = xml.CreateElement("ds", "Object", CpixRequest.DsNamespace);
                slipped.InnerXml = $"<cpix:ContentKeyList xmlns:cpix=\"{CpixRequest.CpixNamespace}\" xmlns:pskc=\"{CpixRequest.PskcNamespace}\">" +
                    $"<cpix:ContentKey kid=\"{kid}\"><cpix:Data><pskc:Secret><pskc:PlainValue>{Convert.ToBase64String(SlippedKey)}</pskc:PlainValue>" +
                    "</pskc:Secret></cpix:Data></cpix:ContentKey></cpix:ContentKeyList>";
                signature.AppendChild(slipped);
                break;
        }
        return xml.OuterXml;
    }

    /// <summary>The key <see cref="AnswerSigning.KeySlippedIn"/> slips in: never the stand-in's key for any KID.</summary>
    public static readonly byte[] SlippedKey = Enumerable.Repeat((byte)0x5a, 16).ToArray();

    /// <summary>Why <paramref name="body"/> is not signed as a whole by <paramref name="signer"/>'s key, or null when it is.</summary>
    private static string? SignatureRefusal(string body, X509Certificate2 signer)
    {
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        try
        {
            using var reader = XmlReader.Create(new StringReader(body), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            xml.Load(reader);
        }
        catch (XmlException e)
        {
            return "not XML: " + e.Message;
        }
        var signatures = xml.DocumentElement!.ChildNodes.OfType<XmlElement>()
            .Where(e => e.LocalName == "Signature" && e.NamespaceURI == CpixRequest.DsNamespace).ToList();
        if (signatures.Count != 1) return $"{signatures.Count} document signatures, expected 1";
        var signed = new SignedXml(xml);
        signed.LoadXml(signatures[0]);
        if (signed.SignedInfo!.References.Count != 1 || signed.SignedInfo.References[0] is not Reference { Uri: "" })
            return "the signature does not cover the whole document";
        return signed.CheckSignature(signer, verifySignatureOnly: true) ? null : "the signature does not verify with the trusted certificate";
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
