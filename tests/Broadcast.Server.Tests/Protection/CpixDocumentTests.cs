using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// The CPIX wire format alone: the request's shape (CPIX 2.3 as SPEKE v2 profiles it), and the answer's reading: a good
/// answer, each way an answer can be wrong, and truncated or mutated answers, which are only ever refused.
/// </summary>
public sealed class CpixDocumentTests
{
    private static readonly XNamespace Cpix = CpixRequest.CpixNamespace;
    private static readonly XNamespace Pskc = CpixRequest.PskcNamespace;
    private static readonly KeyId Kid = KeyId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));
    private static readonly byte[] KeyBytes = Convert.FromHexString("00112233445566778899aabbccddeeff");
    private static readonly UInt128[] Systems = [CpixOptions.Widevine, CpixOptions.PlayReady];

    [Fact]
    public void The_request_names_the_kid_its_scheme_each_system_and_one_key_for_all_tracks()
    {
        var xml = XDocument.Parse(Encoding.UTF8.GetString(CpixRequest.Write("chan", Kid, EncryptionScheme.Cbcs, Systems)));
        var root = xml.Root!;
        Assert.Equal(Cpix + "CPIX", root.Name);
        Assert.Equal("chan", root.Attribute("contentId")?.Value);
        Assert.Equal("2.3", root.Attribute("version")?.Value);
        Assert.Equal(CpixRequest.PskcNamespace, root.GetNamespaceOfPrefix("pskc")?.NamespaceName);

        var key = Assert.Single(root.Elements(Cpix + "ContentKeyList").Elements(Cpix + "ContentKey"));
        Assert.Equal("01234567-89ab-cdef-0123-456789abcdef", key.Attribute("kid")?.Value);
        Assert.Equal("cbcs", key.Attribute("commonEncryptionScheme")?.Value);
        Assert.Empty(key.Elements()); // no key value leaves this server

        var systems = root.Elements(Cpix + "DRMSystemList").Elements(Cpix + "DRMSystem").ToList();
        Assert.Equal(["edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "9a04f079-9840-4286-ab92-e65be0885f95"],
            systems.Select(s => s.Attribute("systemId")?.Value));
        Assert.All(systems, s =>
        {
            Assert.Equal("01234567-89ab-cdef-0123-456789abcdef", s.Attribute("kid")?.Value);
            Assert.NotNull(s.Element(Cpix + "PSSH"));
            Assert.Equal(["media", "master"], s.Elements(Cpix + "HLSSignalingData").Select(h => h.Attribute("playlist")?.Value));
        });
        var fairPlay = XDocument.Parse(Encoding.UTF8.GetString(CpixRequest.Write("chan", Kid, EncryptionScheme.Cbcs, [CpixOptions.FairPlay])));
        var fairPlaySystem = fairPlay.Root!.Descendants(Cpix + "DRMSystem").Single();
        Assert.Null(fairPlaySystem.Element(Cpix + "PSSH"));
        Assert.Equal(2, fairPlaySystem.Elements(Cpix + "HLSSignalingData").Count());

        var rule = Assert.Single(root.Elements(Cpix + "ContentKeyUsageRuleList").Elements(Cpix + "ContentKeyUsageRule"));
        Assert.Equal("ALL", rule.Attribute("intendedTrackType")?.Value);
        Assert.NotNull(rule.Element(Cpix + "AudioFilter"));
        Assert.NotNull(rule.Element(Cpix + "VideoFilter"));

        var cenc = XDocument.Parse(Encoding.UTF8.GetString(CpixRequest.Write("chan", Kid, EncryptionScheme.Cenc, Systems)));
        Assert.Equal("cenc", cenc.Root!.Descendants(Cpix + "ContentKey").Single().Attribute("commonEncryptionScheme")?.Value);
        Assert.Throws<ArgumentException>(() => CpixRequest.Write("chan", Kid, EncryptionScheme.Aes128, Systems));
    }

    /// <summary>A key server's answer: the request filled in, as <paramref name="change"/> then alters it.</summary>
    internal static byte[] Answer(Action<XDocument>? change = null)
    {
        var xml = XDocument.Parse(Encoding.UTF8.GetString(CpixRequest.Write("chan", Kid, EncryptionScheme.Cbcs, Systems)));
        xml.Root!.Descendants(Cpix + "ContentKey").Single().Add(
            new XElement(Cpix + "Data", new XElement(Pskc + "Secret", new XElement(Pskc + "PlainValue", Convert.ToBase64String(KeyBytes)))));
        foreach (var system in xml.Root.Descendants(Cpix + "DRMSystem"))
        {
            var id = CpixRequest.ParseUuid(system.Attribute("systemId")!.Value)!.Value;
            system.Element(Cpix + "PSSH")!.Value = Convert.ToBase64String(ProtectionSystemHeader.Create(id, [Kid], [1, 2, 3]));
            // The media tag filled in, the master's left out (a server may give only the media playlist's).
            system.Elements(Cpix + "HLSSignalingData").Single(h => h.Attribute("playlist")?.Value == "media").Value = Base64Text(MediaTag);
            system.Elements(Cpix + "HLSSignalingData").Single(h => h.Attribute("playlist")?.Value == "master").Remove();
        }
        change?.Invoke(xml);
        return Encoding.UTF8.GetBytes(xml.ToString(SaveOptions.DisableFormatting));
    }

    private const string MediaTag = "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\"";

    private static string Base64Text(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public void A_good_answer_gives_the_key_and_each_system_s_pssh_in_the_order_asked()
    {
        var keys = CpixAnswer.Read(Answer(), Kid, EncryptionScheme.Cbcs, Systems);
        Assert.Equal(new ContentKey(Kid, KeyBytes), keys.Key);
        Assert.Equal(Systems, keys.Systems.Select(s => s.SystemId));
        Assert.All(keys.Systems, s => Assert.Equal(ProtectionSystemHeader.Create(s.SystemId, [Kid], [1, 2, 3]), s.Pssh.ToArray()));
        // A media tag alone also names the master's key, as EXT-X-SESSION-KEY (§4.4.6.5).
        Assert.Equal(Systems, keys.HlsKeys.Select(h => h.SystemId));
        Assert.All(keys.HlsKeys, h =>
        {
            Assert.Equal(MediaTag, h.Media);
            Assert.Equal("#EXT-X-SESSION-KEY:" + MediaTag["#EXT-X-KEY:".Length..], h.Master);
        });
        // Only the systems asked are taken, even when the server answers more.
        Assert.Single(CpixAnswer.Read(Answer(), Kid, EncryptionScheme.Cbcs, [CpixOptions.PlayReady]).Systems);
    }

    public static TheoryData<string, string> WrongAnswers => new()
    {
        { "root", "not a CPIX document" },
        { "other kid", "which was not asked" },
        { "no key", "no key for KID" },
        { "short key", "is 8 bytes, not 16" },
        { "bad base64", "the key (pskc:PlainValue) is not valid base64" },
        { "encrypted", "sent the key encrypted" },
        { "no system", "no cpix:DRMSystem for system 9a04f079" },
        { "empty pssh", "has no cpix:PSSH" },
        { "bad pssh", "is not one pssh box" },
        { "other system's pssh", "is system 1077efec" },
        { "system kid", "names KID" },
        { "dtd", "not well-formed XML" },
        { "truncated", "not well-formed XML" },
        { "deep", "nests deeper than" },
        { "two keys", "which was not asked" },
        { "tag on two lines", "not one line of printable ASCII" },
        { "tag of another method", "METHOD is not SAMPLE-AES" },
        { "master tag as media", "does not start with #EXT-X-KEY:" },
        { "master without media", "but no media one" },
    };

    [Theory]
    [MemberData(nameof(WrongAnswers))]
    public void A_wrong_answer_is_refused_saying_what_was_wrong(string wrong, string reason)
    {
        byte[] answer = wrong switch
        {
            "root" => Encoding.UTF8.GetBytes("<CPIX xmlns=\"urn:other\"/>"),
            "other kid" => Answer(x => x.Root!.Descendants(Cpix + "ContentKey").Single().SetAttributeValue("kid", "11111111-2222-3333-4444-555555555555")),
            "no key" => Answer(x => x.Root!.Descendants(Cpix + "Data").Remove()),
            "short key" => Answer(x => x.Root!.Descendants(Pskc + "PlainValue").Single().Value = Convert.ToBase64String(new byte[8])),
            "bad base64" => Answer(x => x.Root!.Descendants(Pskc + "PlainValue").Single().Value = "%%%"),
            "encrypted" => Answer(x => x.Root!.Descendants(Pskc + "PlainValue").Single().ReplaceWith(new XElement(Pskc + "EncryptedValue", "AAAA"))),
            "no system" => Answer(x => x.Root!.Descendants(Cpix + "DRMSystem").Last().Remove()),
            "empty pssh" => Answer(x => x.Root!.Descendants(Cpix + "PSSH").First().Value = ""),
            "bad pssh" => Answer(x => x.Root!.Descendants(Cpix + "PSSH").First().Value = Convert.ToBase64String(new byte[40])),
            "other system's pssh" => Answer(x => x.Root!.Descendants(Cpix + "PSSH").First().Value =
                Convert.ToBase64String(ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [Kid], []))),
            "system kid" => Answer(x => x.Root!.Descendants(Cpix + "DRMSystem").First().SetAttributeValue("kid", "11111111-2222-3333-4444-555555555555")),
            "dtd" => Encoding.UTF8.GetBytes("<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\">&e;</cpix:CPIX>"),
            "truncated" => Answer()[..200],
            "deep" => Encoding.UTF8.GetBytes("<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\">" + string.Concat(Enumerable.Repeat("<a>", 40)) +
                string.Concat(Enumerable.Repeat("</a>", 40)) + "</cpix:CPIX>"),
            "two keys" => Answer(x => x.Root!.Element(Cpix + "ContentKeyList")!.Add(new XElement(Cpix + "ContentKey",
                new XAttribute("kid", "11111111-2222-3333-4444-555555555555")))),
            "tag on two lines" => Answer(x => x.Root!.Descendants(Cpix + "HLSSignalingData").First().Value = Base64Text(MediaTag + "\n#EXT-X-ENDLIST")),
            "tag of another method" => Answer(x => x.Root!.Descendants(Cpix + "HLSSignalingData").First().Value =
                Base64Text(MediaTag.Replace("SAMPLE-AES", "SAMPLE-AES-CTR", StringComparison.Ordinal))),
            "master tag as media" => Answer(x => x.Root!.Descendants(Cpix + "HLSSignalingData").First().Value =
                Base64Text(MediaTag.Replace("#EXT-X-KEY:", "#EXT-X-SESSION-KEY:", StringComparison.Ordinal))),
            "master without media" => Answer(x => x.Root!.Descendants(Cpix + "HLSSignalingData").First().SetAttributeValue("playlist", "master")),
            _ => throw new ArgumentOutOfRangeException(nameof(wrong)),
        };
        var refused = Assert.Throws<CpixRefusedException>(() => CpixAnswer.Read(answer, Kid, EncryptionScheme.Cbcs, Systems));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(KeyBytes), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FairPlay_gives_key_tags_and_no_pssh_and_without_tags_is_refused()
    {
        static void AsFairPlay(XDocument x)
        {
            var system = x.Root!.Descendants(Cpix + "DRMSystem").First();
            system.SetAttributeValue("systemId", "94ce86fb-07ff-4f43-adb8-93d2fa968ca2");
            system.Element(Cpix + "PSSH")!.Remove();
        }
        var keys = CpixAnswer.Read(Answer(AsFairPlay), Kid, EncryptionScheme.Cbcs, [CpixOptions.FairPlay, CpixOptions.PlayReady]);
        Assert.Equal([CpixOptions.PlayReady], keys.Systems.Select(s => s.SystemId));
        Assert.Equal([CpixOptions.FairPlay, CpixOptions.PlayReady], keys.HlsKeys.Select(h => h.SystemId));

        var refused = Assert.Throws<CpixRefusedException>(() => CpixAnswer.Read(Answer(x =>
        {
            AsFairPlay(x);
            x.Root!.Descendants(Cpix + "DRMSystem").First().Elements(Cpix + "HLSSignalingData").Remove();
        }), Kid, EncryptionScheme.Cbcs, [CpixOptions.FairPlay]));
        Assert.Contains("FairPlay", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Truncated_and_mutated_answers_are_only_ever_refused(bool encrypted)
    {
        // Encrypted: the key under a DeliveryData's document key (CPIX §5.3.2), whose every element the mutations reach too.
        using var dir = new Broadcast.TestSupport.TempDirectory("cpix-fuzz");
        using var rsa = RSA.Create(2048);
        var (certificatePath, keyPath) = CpixEncryptedAnswer.WritePems(dir, rsa);
        using var recipient = CpixRecipient.Load(certificatePath, keyPath);
        byte[] good = encrypted ? Answer(x => CpixEncryptedAnswer.Encrypt(x, recipient.Certificate, _ => KeyBytes)) : Answer();
        Assert.Equal(new ContentKey(Kid, KeyBytes), CpixAnswer.Read(good, Kid, EncryptionScheme.Cbcs, Systems, recipient).Key);
        var random = new Random(2026);
        int refused = 0, read = 0;
        for (int i = 0; i < 3000; i++)
        {
            byte[] bytes = (i % 3) switch
            {
                0 => good[..random.Next(good.Length)],
                1 => Mutate(good, random, random.Next(1, 6)),
                _ => Splice(good, random),
            };
            try
            {
                CpixAnswer.Read(bytes, Kid, EncryptionScheme.Cbcs, Systems, recipient);
                read++;
            }
            catch (CpixRefusedException)
            {
                refused++;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i}: {e.GetType().Name} escaped: {e.Message}\n{Encoding.UTF8.GetString(bytes)}");
            }
        }
        Assert.True(refused > (encrypted ? 1500 : 2000), $"only {refused} of 3000 refused ({read} read)");
    }

    private static byte[] Mutate(byte[] good, Random random, int count)
    {
        var bytes = (byte[])good.Clone();
        for (int n = 0; n < count; n++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
        return bytes;
    }

    /// <summary>A piece of the answer repeated or dropped, which keeps more of it well-formed than a random byte does.</summary>
    private static byte[] Splice(byte[] good, Random random)
    {
        int from = random.Next(good.Length), length = random.Next(1, Math.Min(200, good.Length - from + 1));
        return random.Next(2) == 0
            ? [.. good[..from], .. good[from..(from + length)], .. good[from..]]
            : [.. good[..from], .. good[(from + length)..]];
    }

    [Fact]
    public void The_settings_are_checked_at_start()
    {
        Assert.Equal(new Uri("https://keys.example/speke"), new CpixOptions { Url = "https://keys.example/speke" }.Validate());
        new CpixOptions { Url = "http://127.0.0.1:9/speke" }.Validate();
        new CpixOptions { Url = "http://[::1]:9/speke" }.Validate();
        Assert.Contains("https", Assert.Throws<InvalidOperationException>(() => new CpixOptions { Url = "http://keys.example/speke" }.Validate()).Message,
            StringComparison.Ordinal);
        Assert.Equal([CpixOptions.Widevine, CpixOptions.FairPlay],
            new CpixOptions { Url = "https://k.example/", Systems = ["widevine", "fairplay"] }.SystemIds());
        Assert.Throws<InvalidOperationException>(() => new CpixOptions { Url = "https://k.example/", Systems = ["nonsense"] }.Validate());
        Assert.Throws<InvalidOperationException>(() => new CpixOptions { Url = "https://k.example/", Systems = [] }.Validate());
        Assert.Throws<InvalidOperationException>(() => new CpixOptions { Url = "https://u:p@k.example/" }.Validate());
        Assert.Throws<InvalidOperationException>(() => new CpixOptions { Url = "https://k.example/", TimeoutSeconds = 0 }.Validate());
        Assert.Equal([CpixOptions.CommonSystem, CpixOptions.Widevine],
            new CpixOptions { Systems = ["clearkey", "EDEF8BA9-79D6-4ACE-A3C8-27DCD51D21ED", "widevine"] }.SystemIds());
    }

    [Fact]
    public void A_good_answer_read_for_another_kid_than_asked_is_refused()
    {
        var other = KeyId.FromBytes(RandomNumberGenerator.GetBytes(16));
        Assert.Throws<CpixRefusedException>(() => CpixAnswer.Read(Answer(), other, EncryptionScheme.Cbcs, Systems));
    }
}
