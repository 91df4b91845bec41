using System.Security.Cryptography;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.Packager.Tests.Cmaf.Encryption;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// HLS whole-segment encryption (RFC 8216bis §4.4.4.4 METHOD=AES-128, §5.2 IV): the low-latency FLV clip packaged with
/// "aes-128" stores every segment and part encrypted whole with AES-128-CBC/PKCS7 under its segment's number as IV, each
/// decrypting (with .NET's AES, not the packager's code) to clear CMAF whose frames are those of the clear build; init
/// segments stay clear; the playlists name the key URL after each EXT-X-MAP; no MPD is written.
/// </summary>
[Trait("Kind", "Component")]
public sealed class AesHlsPackagerTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>, IDisposable
{
    private const string KeyUrl = "https://media.example/live/chan/key/0123456789abcdef0123456789abcdef";
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Decrypt(byte[] stored, long msn, PaddingMode padding = PaddingMode.PKCS7)
    {
        using var aes = Aes.Create();
        aes.Key = Convert.FromHexString(EncryptedCmafTests.KeyHex);
        var iv = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(iv.AsSpan(8), msn);
        return aes.DecryptCbc(stored, iv, padding);
    }

    [Fact]
    public void The_cipher_encrypts_with_the_msn_iv_and_pkcs7_and_refuses_bad_input()
    {
        using var cipher = new WholeSegmentCipher(Convert.FromHexString(EncryptedCmafTests.KeyHex));
        foreach (int length in new[] { 0, 1, 15, 16, 17, 4096, 100_003 })
        {
            var clear = RandomNumberGenerator.GetBytes(length);
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            int written = cipher.Encrypt(clear, 0x0102030405060708, output);
            Assert.Equal((length / 16 + 1) * 16, written);
            Assert.Equal(WholeSegmentCipher.EncryptedLength(length), written);
            Assert.Equal(clear, Decrypt(output.WrittenSpan.ToArray(), 0x0102030405060708));
            // Another segment's IV gives other bytes (CBC: in the first block, where the IVs differ).
            Assert.NotEqual(Decrypt(output.WrittenSpan.ToArray(), 0x0102030405060708, PaddingMode.None),
                Decrypt(output.WrittenSpan.ToArray(), 0x0102030405060709, PaddingMode.None));
        }
        // An explicit IV (a clip's EXT-X-KEY IV=): its own cipher's decryption gives the clear bytes back, the MSN IV's the same.
        var iv = RandomNumberGenerator.GetBytes(16);
        var piece = RandomNumberGenerator.GetBytes(1000);
        Assert.Equal(piece, cipher.Decrypt(cipher.Encrypt(piece, iv), iv));
        var msnIv = new byte[16];
        WholeSegmentCipher.WriteIv(42, msnIv);
        var stored = new byte[WholeSegmentCipher.EncryptedLength(piece.Length)];
        cipher.Encrypt(piece, 42, stored);
        Assert.Equal(piece, cipher.Decrypt(stored, msnIv));
        Assert.Throws<CryptographicException>(() => cipher.Decrypt(stored.AsSpan(1), msnIv));
        Assert.Throws<CryptographicException>(() => cipher.Decrypt([], msnIv));
        Assert.Throws<ArgumentException>(() => cipher.Decrypt(stored, new byte[8]));
        Assert.Throws<ArgumentException>(() => cipher.Encrypt(piece, new byte[8]));
        Assert.Throws<ArgumentException>(() => new WholeSegmentCipher(new byte[15]));
        Assert.Throws<ArgumentException>(() => new WholeSegmentCipher(new byte[32]));
        Assert.Throws<ArgumentOutOfRangeException>(() => cipher.Encrypt(new byte[4], -1, new byte[16]));
        Assert.Throws<ArgumentException>(() => cipher.Encrypt(new byte[16], 1, new byte[16]));
        Assert.Throws<ArgumentException>(() => new TrackEncryptor(EncryptedCmafTests.Key, EncryptionScheme.Aes128, clip.Video, 1));
        Assert.Throws<InvalidOperationException>(() => BroadcastProtection.From(EncryptionScheme.Aes128, new ContentKeyGrant(EncryptedCmafTests.Key, [])));
    }

    [Fact]
    public async Task Segments_and_parts_decrypt_with_the_msn_iv_to_the_clear_frames_and_the_playlists_name_the_key_after_the_map()
    {
        var (clear, clearStore) = await EncryptedPackagerTests.PackageIntoAsync(clip, new FileSystemSegmentStore(_dir.Combine("clear")), null);
        await using var _ = clear;
        var grant = new ContentKeyGrant(EncryptedCmafTests.Key, [], KeyUrl: KeyUrl);
        var store = new FileSystemSegmentStore(_dir.Combine("aes"));
        var (encrypted, __) = await EncryptedPackagerTests.PackageIntoAsync(clip, store, BroadcastProtection.From(EncryptionScheme.Aes128, grant));
        await using var ___ = encrypted;
        string id = encrypted.BroadcastId;

        foreach (var rendition in new[] { StoreKeys.SourceRendition, StoreKeys.AudioRendition })
        {
            string init = Assert.Single(Directory.GetFiles(Path.GetDirectoryName(store.PathOf(StoreKeys.Segment("chan", rendition, id, 1)))!, "*init*"));
            var whole = new List<byte>(await File.ReadAllBytesAsync(init));
            Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(whole.ToArray(), 4, 4)); // the init segment stays clear
            long n = 1;
            for (; File.Exists(store.PathOf(StoreKeys.Segment("chan", rendition, id, n))); n++)
            {
                var stored = await File.ReadAllBytesAsync(store.PathOf(StoreKeys.Segment("chan", rendition, id, n)));
                Assert.Equal(0, stored.Length % 16);
                var segment = Decrypt(stored, n);
                Assert.NotEqual(segment.AsSpan(0, 16).ToArray(), stored.AsSpan(0, 16).ToArray());
                // Each part is its own object, encrypted alone with its segment's IV; clear, they add up to the segment.
                var parts = new List<byte>();
                for (int i = 0; File.Exists(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(id, n, i)}")); i++)
                    parts.AddRange(Decrypt(await File.ReadAllBytesAsync(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(id, n, i)}")), n));
                Assert.True(parts.Count > 0, $"{rendition} segment {n} has no parts");
                Assert.True(segment.AsSpan().SequenceEqual(parts.ToArray()), $"{rendition} segment {n}: decrypted parts differ from the segment");
                whole.AddRange(segment);
            }
            Assert.True(n > 2, $"{rendition}: {n - 1} segments");
            string decryptedFile = _dir.Combine($"{rendition}-aes.mp4"), clearFile = _dir.Combine($"{rendition}-clear.mp4");
            await File.WriteAllBytesAsync(decryptedFile, whole.ToArray());
            await File.WriteAllBytesAsync(clearFile, await EncryptedPackagerTests.StoredAsync(clearStore, clear, rendition));
            var frames = EncryptedPackagerTests.FrameHashes(decryptedFile);
            Assert.NotEmpty(frames);
            Assert.Equal(EncryptedPackagerTests.FrameHashes(clearFile), frames);

            string key = $"#EXT-X-KEY:METHOD=AES-128,URI=\"{KeyUrl}\"\n";
            foreach (var playlist in new[] { File.ReadAllText(store.PathOf(StoreKeys.MediaPlaylist("chan", rendition))),
                File.ReadAllText(store.PathOf(StoreKeys.VodPlaylist("chan", rendition, id))) })
            {
                int map = playlist.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal);
                int at = playlist.IndexOf(key, StringComparison.Ordinal);
                Assert.True(map > 0 && at == playlist.IndexOf('\n', map) + 1, playlist);
                Assert.Equal(at, playlist.LastIndexOf("#EXT-X-KEY:", StringComparison.Ordinal));
                Assert.DoesNotContain(EncryptedCmafTests.KeyHex, playlist, StringComparison.OrdinalIgnoreCase);
            }
        }
        // DASH cannot carry whole-segment encryption: no MPD, live or recorded.
        Assert.False(File.Exists(store.PathOf(StoreKeys.Mpd("chan"))));
        Assert.False(File.Exists(store.PathOf(StoreKeys.RecordingMpd("chan", id))));
        Assert.True(File.Exists(clearStore.PathOf(StoreKeys.Mpd("chan"))));
        // The recording says so, so the recordings API and the recording.ready webhook name no MPD for it.
        Assert.False(encrypted.Recorded!.HasMpd);
        Assert.True(clear.Recorded!.HasMpd);
        foreach (var master in new[] { StoreKeys.Master("chan"), StoreKeys.RecordingMaster("chan", id) })
            Assert.Contains($"#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"{KeyUrl}\"\n", File.ReadAllText(store.PathOf(master)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_delta_update_keeps_the_whole_segment_key_after_the_map()
    {
        var lines = new List<string> { "#EXTM3U", "#EXT-X-VERSION:9", "#EXT-X-TARGETDURATION:1", "#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=6.0",
            "#EXT-X-MEDIA-SEQUENCE:1", "#EXT-X-MAP:URI=\"b-init-0.mp4\"", $"#EXT-X-KEY:METHOD=AES-128,URI=\"{KeyUrl}\"" };
        for (int n = 1; n <= 12; n++) lines.AddRange(["#EXTINF:1.000,", $"b-{n}.m4s"]);
        string delta = LowLatencyPlaylist.ToDeltaUpdate(string.Join('\n', lines) + "\n")!;
        Assert.NotNull(delta);
        int skip = delta.IndexOf("#EXT-X-SKIP:", StringComparison.Ordinal);
        int map = delta.IndexOf("#EXT-X-MAP:URI=\"b-init-0.mp4\"\n", StringComparison.Ordinal);
        int key = delta.IndexOf($"#EXT-X-KEY:METHOD=AES-128,URI=\"{KeyUrl}\"\n", StringComparison.Ordinal);
        Assert.True(skip > 0 && map > skip && key > map, delta);
    }
}
