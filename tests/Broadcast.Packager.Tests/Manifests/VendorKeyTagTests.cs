using System.Text;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// A DRM vendor's HLS key tags (from a key server) as the playlists take them: one printable tag line of the broadcast's
/// METHOD, written beside ClearKey's in media playlists (EXT-X-KEY) and the master (EXT-X-SESSION-KEY); anything else refused.
/// </summary>
public sealed class VendorKeyTagTests
{
    private const string FairPlay =
        "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\",KEYFORMAT=\"com.apple.streamingkeydelivery\",KEYFORMATVERSIONS=\"1\"";

    [Fact]
    public void A_vendor_tag_of_the_broadcast_s_method_is_taken_without_its_line_end()
    {
        Assert.Equal(FairPlay, HlsContentProtection.CheckVendorTag(FairPlay + "\r\n", "#EXT-X-KEY:", "cbcs"));
        string ctr = FairPlay.Replace("SAMPLE-AES", "SAMPLE-AES-CTR", StringComparison.Ordinal);
        Assert.Equal(ctr, HlsContentProtection.CheckVendorTag(ctr, "#EXT-X-KEY:", "cenc"));
    }

    [Theory]
    [InlineData("#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"", "does not start with")]
    [InlineData("#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,URI=\"skd://k\"", "METHOD is not SAMPLE-AES")]
    [InlineData("#EXT-X-KEY:METHOD=SAMPLE-AESX,URI=\"skd://k\"", "METHOD is not SAMPLE-AES")]
    [InlineData("#EXT-X-KEY:URI=\"skd://k\"", "METHOD is not SAMPLE-AES")]
    [InlineData("#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n#EXT-X-ENDLIST", "not one line")]
    [InlineData("#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://\u00e9\"", "not one line of printable ASCII")]
    public void Anything_else_is_refused_saying_why(string line, string reason)
    {
        var refused = Assert.Throws<InvalidDataException>(() => HlsContentProtection.CheckVendorTag(line, "#EXT-X-KEY:", "cbcs"));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidDataException>(() => HlsContentProtection.CheckVendorTag(new string('a', 5000), "#EXT-X-KEY:", "cbcs"));
    }

    [Fact]
    public void The_playlists_write_them_beside_clear_key_s_and_a_grant_with_a_bad_one_is_refused()
    {
        string master = "#EXT-X-SESSION-KEY:" + FairPlay["#EXT-X-KEY:".Length..];
        var protection = new ManifestProtection("cbcs", "01234567-89ab-cdef-0123-456789abcdef", [])
        {
            HlsKeys = [new HlsKeyTags(1, FairPlay, master)],
        };
        var media = new StringBuilder();
        HlsContentProtection.AppendKey(media, protection);
        Assert.Equal(FairPlay + "\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,ASNFZ4mrze8BI0VniavN7w==\",KEYFORMAT=\"org.w3.clearkey\"," +
            "KEYFORMATVERSIONS=\"1\"\n", media.ToString());
        var session = new StringBuilder();
        HlsContentProtection.AppendSessionKey(session, protection);
        Assert.StartsWith(master + "\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,", session.ToString(), StringComparison.Ordinal);

        var grant = new ContentKeyGrant(EncryptedCmafTests.Key, []) { HlsKeys = [new HlsKeyTags(1, FairPlay, master)] };
        Assert.Equal(grant.HlsKeys, BroadcastProtection.From(EncryptionScheme.Cbcs, grant).HlsKeys);
        Assert.Throws<InvalidDataException>(() => BroadcastProtection.From(EncryptionScheme.Cenc, grant));
        Assert.Throws<InvalidOperationException>(() => BroadcastProtection.From(EncryptionScheme.Aes128, grant with { KeyUrl = "https://k/" }));
    }
}
