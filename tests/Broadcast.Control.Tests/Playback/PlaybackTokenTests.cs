using System.Text;
using Broadcast.Control.Playback;

namespace Broadcast.Control.Tests.Playback;

public class PlaybackTokenTests
{
    private const long Now = 1_800_000_000;
    private static readonly PlaybackSigningKey KeyA = new("keya", Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
    private static readonly PlaybackSigningKey KeyB = new("keyb", Enumerable.Range(101, 32).Select(i => (byte)i).ToArray());
    private static readonly PlaybackSigningKey KeyC = new("keyc", Enumerable.Range(201, 32).Select(i => (byte)i).ToArray());

    private static PlaybackKeyRing Ring => new(KeyA, null);

    /// <summary>The id of the channel that holds the slug "keynote" in these tests.</summary>
    private const string Channel = "0199a0b1c2d37e4f8a9b0c1d2e3f4a5b";

    [Fact]
    public void A_signed_token_verifies_for_its_stream_until_its_expiry()
    {
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);

        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(token, "keynote", Channel, Now, Ring));
        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(token, "keynote", Channel, Now + 59, Ring));
        // The expiry is exclusive: at the second it names, the token is over.
        Assert.Equal(PlaybackTokenResult.Expired, PlaybackToken.Verify(token, "keynote", Channel, Now + 60, Ring));
        Assert.Equal(PlaybackTokenResult.Expired, PlaybackToken.Verify(token, "keynote", Channel, Now + 61, Ring));
    }

    [Fact]
    public void The_token_has_the_documented_shape_and_mac()
    {
        string token = PlaybackToken.Sign("keynote", Channel, 1_800_000_060, KeyA);
        string[] parts = token.Split('.');

        Assert.Equal(["keya", "1800000060"], parts[..2]);
        byte[] expected = System.Security.Cryptography.HMACSHA256.HashData(
            Enumerable.Range(1, 32).Select(i => (byte)i).ToArray(), Encoding.ASCII.GetBytes($"bpt2\n/live/keynote/\n{Channel}\n1800000060\nkeya"));
        Assert.Equal(System.Buffers.Text.Base64Url.EncodeToString(expected), parts[2]);
        Assert.Equal("/live/keynote/", PlaybackToken.ScopeOf("keynote"));
    }

    [Theory]
    [InlineData("keynote2")]
    [InlineData("keynot")]
    [InlineData("other")]
    [InlineData("")]
    public void A_token_for_one_stream_is_refused_for_another(string stream)
    {
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(token, stream, Channel, Now, Ring));
    }

    [Fact]
    public void A_token_is_bound_to_its_channel_not_only_to_the_slug()
    {
        // A channel deleted and another created with the same slug: the old channel's token does not open the new one.
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        const string Successor = "0199a0b1c2d37e4f8a9b0c1d2e3f4a5c";
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(token, "keynote", Successor, Now, Ring));
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(token, "keynote", "", Now, Ring));
        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(PlaybackToken.Sign("keynote", Successor, Now + 60, KeyA), "keynote", Successor, Now, Ring));
        Assert.Throws<ArgumentException>(() => PlaybackToken.Sign("keynote", "", Now + 60, KeyA));
    }

    [Fact]
    public void A_token_in_the_old_slug_only_format_is_refused()
    {
        // "bpt1": signed over the scope, expiry and key id alone, as before channel ids were bound (a documented break).
        byte[] mac = System.Security.Cryptography.HMACSHA256.HashData(
            Enumerable.Range(1, 32).Select(i => (byte)i).ToArray(), Encoding.ASCII.GetBytes($"bpt1\n/live/keynote/\n{Now + 60}\nkeya"));
        string old = $"keya.{Now + 60}.{System.Buffers.Text.Base64Url.EncodeToString(mac)}";
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(old, "keynote", Channel, Now, Ring));
    }

    [Fact]
    public void A_forged_mac_is_refused()
    {
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        // Flip every position of the MAC in turn: each is a bad signature, never valid.
        int macStart = token.LastIndexOf('.') + 1;
        for (int i = macStart; i < token.Length; i++)
        {
            char replacement = token[i] == 'A' ? 'B' : 'A';
            string forged = string.Concat(token.AsSpan(0, i), replacement.ToString(), token.AsSpan(i + 1));
            var result = PlaybackToken.Verify(forged, "keynote", Channel, Now, Ring);
            // The last character holds 4 spare bits in base64url: a change there may leave an invalid encoding.
            Assert.True(result is PlaybackTokenResult.BadSignature or PlaybackTokenResult.Malformed, $"position {i}: {result}");
        }
    }

    [Fact]
    public void A_mac_whose_last_character_has_its_spare_bits_set_is_malformed_not_an_exception()
    {
        // 32 bytes in 43 base64url characters leave 2 spare bits in the last one; 'B' sets one. A forger who changes
        // the last character of a token ending in 'A' sends exactly this: it must be refused like any bad token (the
        // decoder throws for it, which the origin answered with a 500).
        string good = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        foreach (char last in "BCDFGHJ-_")
        {
            string forged = good[..^1] + last;
            Assert.Equal(PlaybackTokenResult.Malformed, PlaybackToken.Verify(forged, "keynote", Channel, Now, Ring));
        }
    }

    [Fact]
    public void A_token_signed_with_an_unknown_secret_under_a_known_id_is_refused()
    {
        var impostor = new PlaybackSigningKey("keya", new byte[32]);
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, impostor);
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(token, "keynote", Channel, Now, Ring));
    }

    [Fact]
    public void A_tampered_expiry_is_refused()
    {
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        string extended = token.Replace($".{Now + 60}.", $".{Now + 86_400}.", StringComparison.Ordinal);
        Assert.NotEqual(token, extended);
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(extended, "keynote", Channel, Now, Ring));

        // Expired and then "renewed" by hand: still a bad signature, not valid.
        string old = PlaybackToken.Sign("keynote", Channel, Now - 1, KeyA);
        string renewed = old.Replace($".{Now - 1}.", $".{Now + 60}.", StringComparison.Ordinal);
        Assert.Equal(PlaybackTokenResult.BadSignature, PlaybackToken.Verify(renewed, "keynote", Channel, Now, Ring));
    }

    [Fact]
    public void An_unknown_key_id_is_refused()
    {
        string token = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyB);
        Assert.Equal(PlaybackTokenResult.UnknownKey, PlaybackToken.Verify(token, "keynote", Channel, Now, Ring));
    }

    [Fact]
    public void After_a_rotation_the_previous_key_still_verifies_and_two_rotations_later_it_does_not()
    {
        string signedByA = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        PlaybackKeyRing once = Ring.Rotate(KeyB);
        Assert.Same(KeyB, once.Current);
        Assert.Same(KeyA, once.Previous);
        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(signedByA, "keynote", Channel, Now, once));
        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(PlaybackToken.Sign("keynote", Channel, Now + 60, once.Current), "keynote", Channel, Now, once));

        PlaybackKeyRing twice = once.Rotate(KeyC);
        Assert.Equal(PlaybackTokenResult.UnknownKey, PlaybackToken.Verify(signedByA, "keynote", Channel, Now, twice));
        Assert.Equal(PlaybackTokenResult.Valid, PlaybackToken.Verify(PlaybackToken.Sign("keynote", Channel, Now + 60, KeyB), "keynote", Channel, Now, twice));
    }

    public static TheoryData<string, string> MalformedTokens()
    {
        string good = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        string mac = good[(good.LastIndexOf('.') + 1)..];
        return new TheoryData<string, string>
        {
            { "empty", "" },
            { "one dot", "." },
            { "two dots", ".." },
            { "no dots", "keya" + (Now + 60) + mac },
            { "one field missing", $"keya.{mac}" },
            { "four fields", $"keya.{Now + 60}.{mac}.x" },
            { "empty key id", $".{Now + 60}.{mac}" },
            { "empty expiry", $"keya..{mac}" },
            { "empty mac", $"keya.{Now + 60}." },
            { "key id too long", $"{new string('k', 17)}.{Now + 60}.{mac}" },
            { "key id with a slash", $"ke/a.{Now + 60}.{mac}" },
            { "key id with a space", $"ke a.{Now + 60}.{mac}" },
            { "key id non-ascii", $"kéya.{Now + 60}.{mac}" },
            { "expiry with a sign", $"keya.+{Now + 60}.{mac}" },
            { "negative expiry", $"keya.-{Now + 60}.{mac}" },
            { "expiry leading zero", $"keya.0{Now + 60}.{mac}" },
            { "expiry zero", $"keya.0.{mac}" },
            { "expiry hex", $"keya.0x6B49D200.{mac}" },
            { "expiry with a fraction", $"keya.{Now + 60}.5.{mac}" },
            { "expiry too many digits", $"keya.123456789012.{mac}" },
            { "expiry arabic-indic digits", $"keya.١٢٣.{mac}" },
            { "mac too short", $"keya.{Now + 60}.{mac[..42]}" },
            { "mac too long", $"keya.{Now + 60}.{mac}A" },
            { "mac with padding", $"keya.{Now + 60}.{mac[..42]}=" },
            { "mac in standard base64", $"keya.{Now + 60}.{mac[..41]}+/" },
            { "mac with a NUL", $"keya.{Now + 60}.{mac[..42]}\0" },
            { "whitespace around", $" {good} " },
            { "percent-encoded", good.Replace(".", "%2E", StringComparison.Ordinal) },
            { "far too long", new string('a', 10_000) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedTokens))]
    public void Malformed_tokens_are_refused_without_an_exception(string name, string token)
    {
        Assert.True(PlaybackToken.Verify(token, "keynote", Channel, Now, Ring) == PlaybackTokenResult.Malformed, name);
        Assert.False(PlaybackToken.TryParse(token, out _, out _, out _, out _), name);
    }

    [Fact]
    public void Every_truncation_of_a_good_token_is_refused()
    {
        string good = PlaybackToken.Sign("keynote", Channel, Now + 60, KeyA);
        for (int length = 0; length < good.Length; length++)
        {
            Assert.NotEqual(PlaybackTokenResult.Valid, PlaybackToken.Verify(good.AsSpan(0, length), "keynote", Channel, Now, Ring));
        }
    }

    [Fact]
    public void Keys_refuse_bad_ids_and_short_secrets_and_never_print_their_secret()
    {
        Assert.Throws<ArgumentException>(() => new PlaybackSigningKey("bad.id", new byte[32]));
        Assert.Throws<ArgumentException>(() => new PlaybackSigningKey("", new byte[32]));
        Assert.Throws<ArgumentException>(() => new PlaybackSigningKey("ok", new byte[8]));
        var generated = PlaybackSigningKey.Generate();
        Assert.True(PlaybackToken.IsKeyId(generated.Id));
        Assert.Equal("PlaybackSigningKey " + generated.Id, generated.ToString());
    }
}
