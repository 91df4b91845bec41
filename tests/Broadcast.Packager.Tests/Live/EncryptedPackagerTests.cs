using Broadcast.Media;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.Packager.Tests.Cmaf.Encryption;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// A low-latency broadcast of the FLV clip through <see cref="StreamPackager"/> with protection on: every part and
/// segment is encrypted, a segment is still the concatenation of its parts, and ffmpeg decrypts the stored objects to
/// the frames of the same broadcast packaged in the clear.
/// </summary>
[Trait("Kind", "Component")]
public sealed class EncryptedPackagerTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<(StreamPackager Packager, FileSystemSegmentStore Store)> PackageAsync(string name, BroadcastProtection? protection)
        => PackageIntoAsync(clip, new FileSystemSegmentStore(Path.Combine(_dir.Path, name)), protection);

    private Task<(StreamPackager Packager, FileSystemSegmentStore Store)> PackageIntoAsync(FileSystemSegmentStore store, BroadcastProtection? protection)
        => PackageIntoAsync(clip, store, protection);

    /// <summary>The FLV clip packaged with low latency (1 s segments, parts of a third) into <paramref name="store"/>, and ended.</summary>
    internal static async Task<(StreamPackager Packager, FileSystemSegmentStore Store)> PackageIntoAsync(FlvClipFixture clip,
        FileSystemSegmentStore store, BroadcastProtection? protection)
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 29, 19, 0, 0, TimeSpan.Zero));
        var options = new PackagerOptions { SegmentSeconds = 1, WindowSegments = 3, PartSeconds = 0.333m };
        var p = new StreamPackager(new BroadcastSettings { Channel = "chan", Record = true, LowLatency = true, Protection = protection },
            store, options, time);
        int a = 0;
        foreach (var v in clip.VideoSamples)
        {
            await p.PushVideoAsync(0, MediaFrame.Rent(clip.Video, v.Dts, v.CompositionOffset, v.IsSync, v.Data), default);
            for (; a < clip.AudioSamples.Count && clip.AudioSamples[a].Dts * 90_000 / 48_000 <= v.Dts; a++)
                await p.PushAudioAsync(MediaFrame.Rent(clip.Audio, clip.AudioSamples[a].Dts, 0, true, clip.AudioSamples[a].Data), default);
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
        await p.CompleteAsync(default);
        return (p, store);
    }

    /// <summary>The rendition's init segment and stored segments, in order, as one file.</summary>
    internal static async Task<byte[]> StoredAsync(FileSystemSegmentStore store, StreamPackager p, string rendition)
    {
        var init = Directory.GetFiles(Path.GetDirectoryName(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, 1)))!, "*init*");
        var bytes = new List<byte>(await File.ReadAllBytesAsync(Assert.Single(init)));
        for (long n = 1; File.Exists(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, n))); n++)
            bytes.AddRange(await File.ReadAllBytesAsync(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, n))));
        return bytes.ToArray();
    }

    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public async Task Parts_and_segments_are_encrypted_alike_and_ffmpeg_decrypts_them_to_the_clear_frames(EncryptionScheme scheme)
    {
        var grant = new ContentKeyGrant(EncryptedCmafTests.Key, []);
        var (clear, clearStore) = await PackageAsync("clear", null);
        await using var _ = clear;
        var (encrypted, store) = await PackageAsync("encrypted", BroadcastProtection.From(scheme, grant));
        await using var __ = encrypted;

        foreach (var rendition in new[] { StoreKeys.SourceRendition, StoreKeys.AudioRendition })
        {
            for (long n = 1; File.Exists(store.PathOf(StoreKeys.Segment("chan", rendition, encrypted.BroadcastId, n))); n++)
            {
                var segment = await File.ReadAllBytesAsync(store.PathOf(StoreKeys.Segment("chan", rendition, encrypted.BroadcastId, n)));
                var joined = new List<byte>();
                for (int i = 0; File.Exists(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(encrypted.BroadcastId, n, i)}")); i++)
                    joined.AddRange(await File.ReadAllBytesAsync(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(encrypted.BroadcastId, n, i)}")));
                Assert.True(segment.AsSpan().SequenceEqual(joined.ToArray()), $"{rendition} segment {n}: parts differ from the segment");
            }
            var file = await StoredAsync(store, encrypted, rendition);
            var track = CencBoxReader.ReadInit(file);
            Assert.Equal(scheme == EncryptionScheme.Cenc ? "cenc" : "cbcs", track.Scheme);
            if (scheme == EncryptionScheme.Cenc || rendition == StoreKeys.SourceRendition)
                Assert.NotEmpty(CencBoxReader.ReadSamples(file.AsMemory(EncryptedCmafTests.Mp4BoxEnd(file)), track));

            string encryptedFile = _dir.Combine($"{rendition}-{scheme}.mp4"), clearFile = _dir.Combine($"{rendition}-clear.mp4");
            await File.WriteAllBytesAsync(encryptedFile, file);
            await File.WriteAllBytesAsync(clearFile, await StoredAsync(clearStore, clear, rendition));
            var frames = FrameHashes(encryptedFile, "-decryption_key", EncryptedCmafTests.KeyHex);
            Assert.NotEmpty(frames);
            Assert.Equal(FrameHashes(clearFile), frames);
        }
    }

    [Fact]
    public async Task The_mpd_names_the_scheme_the_kid_and_clearkey_and_the_clear_one_names_none()
    {
        var widevineId = new UInt128(0xedef8ba979d64aceUL, 0xa3c827dcd51d21edUL);
        var pssh = Broadcast.Packager.Cmaf.Boxes.ProtectionSystemHeader.Create(widevineId, [EncryptedCmafTests.Kid], [7]);
        var grant = new ContentKeyGrant(EncryptedCmafTests.Key, [new ProtectionSystem(widevineId, pssh)]);
        var (clear, clearStore) = await PackageAsync("clear-mpd", null);
        await using var _ = clear;
        var (encrypted, store) = await PackageAsync("encrypted-mpd", BroadcastProtection.From(EncryptionScheme.Cbcs, grant));
        await using var __ = encrypted;

        Assert.DoesNotContain("ContentProtection", await File.ReadAllTextAsync(clearStore.PathOf(StoreKeys.Mpd("chan"))), StringComparison.Ordinal);
        var mpd = System.Xml.Linq.XDocument.Parse(await File.ReadAllTextAsync(store.PathOf(StoreKeys.Mpd("chan"))));
        System.Xml.Linq.XNamespace dash = "urn:mpeg:dash:schema:mpd:2011", cenc = "urn:mpeg:cenc:2013";
        var sets = mpd.Descendants(dash + "AdaptationSet").ToList();
        Assert.Equal(2, sets.Count);
        foreach (var set in sets)
        {
            var descriptors = set.Elements(dash + "ContentProtection").ToList();
            var mp4 = Assert.Single(descriptors, d => (string?)d.Attribute("schemeIdUri") == "urn:mpeg:dash:mp4protection:2011");
            Assert.Equal("cbcs", (string?)mp4.Attribute("value"));
            Assert.Equal("01234567-89ab-cdef-0123-456789abcdef", (string?)mp4.Attribute(cenc + "default_KID"));
            Assert.Single(descriptors, d => (string?)d.Attribute("schemeIdUri") == "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e");
            var widevine = Assert.Single(descriptors, d => (string?)d.Attribute("schemeIdUri") == "urn:uuid:edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
            Assert.Equal(pssh, Convert.FromBase64String(widevine.Element(cenc + "pssh")!.Value));
        }
        Assert.DoesNotContain(EncryptedCmafTests.KeyHex, mpd.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>
    /// A protected broadcast's HLS playlists name its key (RFC 8216bis §4.4.4.4, §4.4.6.5): EXT-X-SESSION-KEY in the master,
    /// EXT-X-KEY before the first EXT-X-MAP in every media playlist, live, ended and recorded; SAMPLE-AES-CTR for 'cenc',
    /// the KID as a data URI for W3C ClearKey, never the key. The MPD names the license URL.
    /// </summary>
    [Fact]
    public async Task A_protected_broadcast_names_its_key_in_every_hls_playlist_live_and_recorded_and_its_license_url_in_the_mpd()
    {
        var grant = new ContentKeyGrant(EncryptedCmafTests.Key, [], "https://media.example/live/chan/license?a=1&b=2");
        var store = new FileSystemSegmentStore(_dir.Combine("keyed"));
        var (encrypted, _) = await PackageIntoAsync(store, BroadcastProtection.From(EncryptionScheme.Cenc, grant));
        await using var __ = encrypted;

        string key = "METHOD=SAMPLE-AES-CTR,URI=\"data:text/plain;base64,ASNFZ4mrze8BI0VniavN7w==\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n";
        string Text(string k) => File.ReadAllText(store.PathOf(k));
        foreach (var master in new[] { StoreKeys.Master("chan"), StoreKeys.RecordingMaster("chan", encrypted.BroadcastId) })
            Assert.Contains("#EXT-X-SESSION-KEY:" + key, Text(master), StringComparison.Ordinal);
        foreach (var rendition in new[] { StoreKeys.SourceRendition, StoreKeys.AudioRendition })
        {
            foreach (var playlist in new[] { Text(StoreKeys.MediaPlaylist("chan", rendition)), Text(StoreKeys.VodPlaylist("chan", rendition, encrypted.BroadcastId)) })
            {
                int at = playlist.IndexOf("#EXT-X-KEY:" + key, StringComparison.Ordinal);
                Assert.True(at > 0 && at < playlist.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal), playlist);
                Assert.Equal(at, playlist.LastIndexOf("#EXT-X-KEY:", StringComparison.Ordinal));
                Assert.DoesNotContain(EncryptedCmafTests.KeyHex, playlist, StringComparison.OrdinalIgnoreCase);
            }
        }
        var mpd = System.Xml.Linq.XDocument.Parse(await File.ReadAllTextAsync(store.PathOf(StoreKeys.Mpd("chan"))));
        System.Xml.Linq.XNamespace dash = "urn:mpeg:dash:schema:mpd:2011", dashIf = "https://dashif.org/CPS";
        foreach (var set in mpd.Descendants(dash + "AdaptationSet"))
        {
            var clearKey = Assert.Single(set.Elements(dash + "ContentProtection"),
                d => (string?)d.Attribute("schemeIdUri") == "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e");
            Assert.Equal("https://media.example/live/chan/license?a=1&b=2", (string?)clearKey.Element(dashIf + "Laurl"));
        }
    }

    /// <summary>ffmpeg's framemd5 hashes of a file fed through a pipe (<see cref="FrameMd5"/>), which it must decode without an error.</summary>
    internal static IReadOnlyList<string> FrameHashes(string file, params string[] before)
    {
        var decoded = FrameMd5.Of(file, "0", before);
        Assert.True(decoded.ExitCode == 0, decoded.Errors);
        return decoded.Hashes;
    }
}
