using Microsoft.Extensions.Configuration;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;

namespace Broadcast.Control.Tests;

public sealed class StreamKeysTests
{
    [Fact]
    public void Keys_carry_128_random_bits_and_never_repeat()
    {
        var keys = Enumerable.Range(0, 2000).Select(_ => StreamKeys.Generate()).ToList();
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.All(keys, k =>
        {
            Assert.Equal(StreamKeys.Length, k.Length);
            Assert.StartsWith("live_", k, StringComparison.Ordinal);
            Assert.True(StreamKeys.IsWellFormed(k));
            Assert.Equal(k, Uri.EscapeDataString(k));
        });

        // 26 base32 characters = 130 bits, of which the last 2 are padding: every one of the 128 payload
        // bits must vary across 2000 keys (the chance that a fair bit does not is 2^-1999).
        var decoded = keys.Select(k => DecodeBase32(k[5..])).ToList();
        for (var bit = 0; bit < 128; bit++)
        {
            var ones = decoded.Count(d => (d[bit / 8] >> (7 - bit % 8) & 1) == 1);
            Assert.InRange(ones, 1, keys.Count - 1);
        }

        Assert.All(decoded, d => Assert.Equal(16, d.Length));
    }

    [Theory]
    [InlineData(new byte[] { }, "")]
    [InlineData(new byte[] { 0x66 }, "my")] // RFC 4648 §10 test vectors, lowercase and unpadded
    [InlineData(new byte[] { 0x66, 0x6f }, "mzxq")]
    [InlineData(new byte[] { 0x66, 0x6f, 0x6f }, "mzxw6")]
    [InlineData(new byte[] { 0x66, 0x6f, 0x6f, 0x62, 0x61, 0x72 }, "mzxw6ytboi")]
    public void Base32_matches_rfc4648_vectors(byte[] data, string expected) => Assert.Equal(expected, StreamKeys.Base32(data));

    [Fact]
    public void Mask_keeps_only_the_last_four_characters()
    {
        var key = StreamKeys.Generate();
        var masked = StreamKeys.Mask(key);
        Assert.Equal(key.Length, masked.Length);
        Assert.Equal("live_" + new string('*', 22) + key[^4..], masked);
        Assert.Equal("live_" + new string('*', 26), StreamKeys.Mask(null));
    }

    private static byte[] DecodeBase32(string text)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            buffer = (buffer << 5) | alphabet.IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return bytes.ToArray();
    }
}

public sealed class SlugsTests
{
    [Theory]
    [InlineData("Evening News", "evening-news")]
    [InlineData("  --Evening   News!!--  ", "evening-news")]
    [InlineData("Café Olé", "cafe-ole")]
    [InlineData("Ünïcödé Straße", "unicode-strasse")]
    [InlineData("../../etc/passwd", "etc-passwd")]
    [InlineData("..", "channel")]
    [InlineData("日本語", "channel")]
    [InlineData("A_B.C/D\\E", "a-b-c-d-e")]
    [InlineData("Channel 42", "channel-42")]
    public void Names_become_path_safe_slugs(string name, string slug)
    {
        Assert.Equal(slug, Slugs.FromName(name));
        Assert.True(Slugs.IsValid(slug));
    }

    [Fact]
    public void Long_names_are_cut_to_64_and_suffixes_fit_within_it()
    {
        var slug = Slugs.FromName(string.Join(' ', Enumerable.Repeat("word", 40)));
        Assert.True(slug.Length <= Slugs.MaxLength);
        Assert.False(slug.EndsWith('-'));
        var suffixed = Slugs.WithSuffix(slug, 123);
        Assert.True(suffixed.Length <= Slugs.MaxLength);
        Assert.EndsWith("-123", suffixed, StringComparison.Ordinal);
        Assert.True(Slugs.IsValid(suffixed));
    }

    [Fact]
    public void First_free_counts_from_two()
    {
        Assert.Equal("news", Slugs.FirstFree("news", []));
        Assert.Equal("news-2", Slugs.FirstFree("news", ["news"]));
        Assert.Equal("news-4", Slugs.FirstFree("news", ["news", "news-2", "news-3", "newsroom"]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-a")]
    [InlineData("a-")]
    [InlineData("A")]
    [InlineData("a/b")]
    [InlineData("a.b")]
    public void Invalid_slugs_are_recognised(string? slug) => Assert.False(Slugs.IsValid(slug));
}

public sealed class SecretsTests
{
    [Fact]
    public void Protected_key_round_trips_and_binds_to_channel_and_secret()
    {
        var protector = new StreamKeyProtector(RandomNumberGenerator.GetBytes(32));
        var key = StreamKeys.Generate();
        var sealedKey = protector.Protect("channel-a", key);
        Assert.Equal(key, protector.Unprotect("channel-a", sealedKey));
        Assert.NotEqual(sealedKey, protector.Protect("channel-a", key)); // fresh nonce every time

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect("channel-b", sealedKey));
        Assert.ThrowsAny<CryptographicException>(() => new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)).Unprotect("channel-a", sealedKey));
        for (var i = 0; i < sealedKey.Length; i++)
        {
            var tampered = (byte[])sealedKey.Clone();
            tampered[i] ^= 0x01;
            Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect("channel-a", tampered));
        }

        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect("channel-a", sealedKey.AsSpan(0, 20)));
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect("channel-a", ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void Secret_is_generated_once_with_mode_600_and_reused()
    {
        using var dir = new TempDirectory();
        var path = dir.File("nested/secret.key");
        var first = StreamKeyProtector.LoadSecret(null, path);
        Assert.Equal(32, first.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(path));
        Assert.Equal(first, StreamKeyProtector.LoadSecret(null, path));
        Assert.Single(Directory.GetFiles(dir.File("nested")));

        var configured = RandomNumberGenerator.GetBytes(32);
        Assert.Equal(configured, StreamKeyProtector.LoadSecret(Convert.ToBase64String(configured), path));
        Assert.Throws<InvalidOperationException>(() => StreamKeyProtector.LoadSecret("not base64!", path));
        Assert.Throws<InvalidOperationException>(() => StreamKeyProtector.LoadSecret(Convert.ToBase64String(new byte[16]), path));
    }

    [Theory]
    [InlineData("change-me-admin-token")] // the compose file's old default
    [InlineData("0123456789abcdef0123456789abcde")] // 31 characters
    public void A_configured_admin_token_shorter_than_32_characters_stops_the_start(string token)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Admin:Token"] = token }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => ControlSettings.From(configuration));
        Assert.Contains("Admin:Token", error.Message, StringComparison.Ordinal);
        Assert.Contains("openssl rand -hex 32", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_configured_admin_token_of_32_characters_or_none_is_accepted()
    {
        static ControlSettings With(string? token) => ControlSettings.From(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Admin:Token"] = token }).Build());
        Assert.Equal("0123456789abcdef0123456789abcdef", With(" 0123456789abcdef0123456789abcdef ").AdminToken);
        Assert.Null(With(null).AdminToken); // generated into Admin:TokenPath at start
    }

    [Fact]
    public void The_playback_node_token_is_optional_at_least_32_characters_and_never_the_admin_token()
    {
        const string admin = "0123456789abcdef0123456789abcdef";
        Assert.False(PlaybackNodeToken.From(null, admin).IsConfigured);
        Assert.False(PlaybackNodeToken.From(" ", admin).Matches(""));

        var node = PlaybackNodeToken.From(" fedcba9876543210fedcba9876543210 ", admin);
        Assert.True(node.IsConfigured);
        Assert.True(node.Matches("fedcba9876543210fedcba9876543210"));
        Assert.False(node.Matches(admin));

        var tooShort = Assert.Throws<InvalidOperationException>(() => PlaybackNodeToken.From("fedcba9876543210", admin));
        Assert.Contains("Playback:NodeToken", tooShort.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fedcba9876543210", tooShort.Message, StringComparison.Ordinal);
        var same = Assert.Throws<InvalidOperationException>(() => PlaybackNodeToken.From(admin, " " + admin));
        Assert.Contains("Admin:Token", same.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Admin_token_is_generated_once_with_mode_600_unless_configured()
    {
        using var dir = new TempDirectory();
        var path = dir.File("data/admin-token");
        var first = new AdminToken(null, path);
        Assert.True(first.Generated);
        Assert.Equal(64, first.Value.Length);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, ModeOf(path));

        var second = new AdminToken("", path);
        Assert.False(second.Generated);
        Assert.Equal(first.Value, second.Value);
        Assert.True(second.Matches(first.Value));
        Assert.False(second.Matches(first.Value.AsSpan(0, first.Value.Length - 1)));
        Assert.False(second.Matches(first.Value + "0"));
        Assert.False(second.Matches(""));

        var configured = new AdminToken("configured", dir.File("unused"));
        Assert.Null(configured.FilePath);
        Assert.True(configured.Matches("configured"));
        Assert.False(File.Exists(dir.File("unused")));
    }

    private static UnixFileMode ModeOf(string path)
        => OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(path);

    [Fact]
    public void Concurrent_first_starts_agree_on_one_secret()
    {
        using var dir = new TempDirectory();
        var path = dir.File("race/secret.key");
        var results = new byte[8][];
        Parallel.For(0, results.Length, i => results[i] = StreamKeyProtector.LoadSecret(null, path));
        Assert.All(results, r => Assert.Equal(results[0], r));
        Assert.Single(Directory.GetFiles(dir.File("race")));
    }
}
