using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.Packager.Tests.Cmaf.Encryption;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// Key rotation: the FLV clip played three times over (six 1 s segments, low latency) with a new key every two segments.
/// Each period's segments name their key in a 'seig' group (the init's tenc names the first), carry its pssh, and the
/// segment before a rotation announces the next key's; ffmpeg decrypts each period with its own key to the clear build's
/// frames; the playlists name each key before the first segment it encrypts; the MPD names no KID. A key provider that
/// has not answered holds the rotation (the current key goes on, and the status says so); one that refuses is asked again.
/// </summary>
[Trait("Kind", "Component")]
public sealed class RotatedKeyPackagerTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>, IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static ContentKey KeyNumber(int n) =>
        new(KeyId.FromBytes(Enumerable.Range(0, 16).Select(i => (byte)(n * 16 + i)).ToArray()), Enumerable.Repeat((byte)(0x40 + n), 16).ToArray());

    private static ContentKeyGrant GrantOf(ContentKey key) =>
        new(key, [new ProtectionSystem(ProtectionSystemHeader.ClearKeySystemId,
            ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [key.Id], []))]);

    private static string Hex(ContentKey key)
    {
        Span<byte> raw = stackalloc byte[16];
        key.CopyKeyTo(raw);
        return Convert.ToHexString(raw);
    }

    /// <summary>The clip pushed <paramref name="loops"/> times, each after the last (2 s apart), then ended.</summary>
    private async Task<(StreamPackager Packager, FileSystemSegmentStore Store)> PackageAsync(string name, BroadcastProtection? protection,
        int loops = 3, Func<long, Task>? beforeSegment = null)
    {
        var store = new FileSystemSegmentStore(_dir.Combine(name));
        var time = new ManualClock(new DateTimeOffset(2026, 12, 1, 11, 0, 0, TimeSpan.Zero));
        var options = new PackagerOptions { SegmentSeconds = 1, WindowSegments = 3, PartSeconds = 0.333m };
        var p = new StreamPackager(new BroadcastSettings { Channel = "chan", Record = true, LowLatency = true, Protection = protection },
            store, options, time);
        const long loopVideo = 2 * 90_000, loopAudio = 2 * 48_000;
        for (int loop = 0; loop < loops; loop++)
        {
            int a = 0;
            foreach (var v in clip.VideoSamples)
            {
                long dts = v.Dts + loop * loopVideo;
                if (beforeSegment is not null && v.IsSync) await beforeSegment(dts / 90_000 + 1);
                await p.PushVideoAsync(0, MediaFrame.Rent(clip.Video, dts, v.CompositionOffset, v.IsSync, v.Data), default);
                for (; a < clip.AudioSamples.Count && clip.AudioSamples[a].Dts * 90_000 / 48_000 <= v.Dts; a++)
                    await p.PushAudioAsync(MediaFrame.Rent(clip.Audio, clip.AudioSamples[a].Dts + loop * loopAudio, 0, true, clip.AudioSamples[a].Data), default);
                time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
            }
        }
        await p.CompleteAsync(default);
        return (p, store);
    }

    private static BroadcastProtection Rotating(EncryptionScheme scheme, int every, Func<CancellationToken, ValueTask<ContentKeyGrant>> next) =>
        BroadcastProtection.From(scheme, GrantOf(KeyNumber(1))) with { Rotation = new KeyRotation(every, next) };

    /// <summary>Keys 2, 3, … each time it is asked.</summary>
    private static Func<CancellationToken, ValueTask<ContentKeyGrant>> Sequence()
    {
        int asked = 1;
        return _ => ValueTask.FromResult(GrantOf(KeyNumber(Interlocked.Increment(ref asked))));
    }

    private static byte[] Segment(FileSystemSegmentStore store, StreamPackager p, string rendition, long n) =>
        File.ReadAllBytes(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, n)));

    private static byte[] Init(FileSystemSegmentStore store, StreamPackager p, string rendition) =>
        File.ReadAllBytes(Assert.Single(Directory.GetFiles(Path.GetDirectoryName(store.PathOf(StoreKeys.Segment("chan", rendition, p.BroadcastId, 1)))!, "*init*")));

    /// <summary>The KID of each sgpd 'seig' entry in <paramref name="bytes"/> (ISO/IEC 23001-7 §6: after the box's version and
    /// flags, grouping_type, default_length and entry_count, 4 bytes before the KID).</summary>
    internal static List<KeyId> SeigKids(ReadOnlySpan<byte> bytes)
    {
        var kids = new List<KeyId>();
        for (int at = bytes.IndexOf("sgpd"u8); at >= 0; at = bytes[(at + 4)..].IndexOf("sgpd"u8) is int next and >= 0 ? at + 4 + next : -1)
        {
            Assert.Equal(SampleEncryptionGroup.Seig, BinaryPrimitives.ReadUInt32BigEndian(bytes[(at + 8)..]));
            kids.Add(KeyId.FromBytes(bytes.Slice(at + 24, 16)));
        }
        return kids;
    }

    /// <summary>The KIDs the W3C common pssh boxes in <paramref name="bytes"/> name (version 1: KID_count, then the KIDs).</summary>
    internal static HashSet<KeyId> PsshKids(ReadOnlySpan<byte> bytes)
    {
        var kids = new HashSet<KeyId>();
        for (int at = bytes.IndexOf("pssh"u8); at >= 0; at = bytes[(at + 4)..].IndexOf("pssh"u8) is int next and >= 0 ? at + 4 + next : -1)
        {
            int count = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes[(at + 24)..]);
            for (int k = 0; k < count; k++) kids.Add(KeyId.FromBytes(bytes.Slice(at + 28 + 16 * k, 16)));
        }
        return kids;
    }

    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public async Task Each_period_is_under_its_own_key_named_in_the_fragments_and_announced_ahead_and_ffmpeg_decrypts_each(EncryptionScheme scheme)
    {
        var (clear, clearStore) = await PackageAsync("clear", null);
        await using var _ = clear;
        var (rotated, store) = await PackageAsync("rotated", Rotating(scheme, 2, Sequence()));
        await using var __ = rotated;
        Assert.DoesNotContain(rotated.Status.Warnings, w => w.Contains("key", StringComparison.Ordinal));
        KeyId A = KeyNumber(1).Id, B = KeyNumber(2).Id, C = KeyNumber(3).Id, D = KeyNumber(4).Id;

        foreach (var rendition in new[] { StoreKeys.SourceRendition, StoreKeys.AudioRendition })
        {
            var init = Init(store, rotated, rendition);
            Assert.Equal(A, CencBoxReader.ReadInit(init).KeyId);
            Assert.Equal([A], PsshKids(init));
            // Segments 1-2 under A (no group: the init's default), 3-4 under B, 5-6 under C; every fragment of a part names it.
            // A period's last segment announces the next key (asked for as the period began), D after the end included.
            var expected = new Dictionary<long, (KeyId? Group, KeyId[] Pssh)>
            {
                [1] = (null, []), [2] = (null, [B]), [3] = (B, [B]), [4] = (B, [B, C]), [5] = (C, [C]), [6] = (C, [C, D]),
            };
            foreach (var (n, (group, pssh)) in expected)
            {
                var segment = Segment(store, rotated, rendition, n);
                var kids = SeigKids(segment);
                if (group is null) Assert.Empty(kids);
                else Assert.All(kids, k => Assert.Equal(group.Value, k));
                Assert.True(group is null || kids.Count >= 1, $"{rendition} segment {n} names no key");
                Assert.True(pssh.ToHashSet().SetEquals(PsshKids(segment)),
                    $"{rendition} segment {n}: pssh of {string.Join(", ", PsshKids(segment))}, not {string.Join(", ", pssh)}");
                // A segment is still byte for byte its parts, which were written before it closed.
                var joined = new List<byte>();
                for (int i = 0; File.Exists(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(rotated.BroadcastId, n, i)}")); i++)
                    joined.AddRange(File.ReadAllBytes(store.PathOf($"chan/{rendition}/{LowLatencyPlaylist.PartName(rotated.BroadcastId, n, i)}")));
                Assert.True(segment.AsSpan().SequenceEqual(joined.ToArray()), $"{rendition} segment {n}: parts differ from the segment");
            }

            // Each period, after the init, decrypts with its own key to the clear build's frames of the same segments.
            foreach (var (key, from) in new[] { (KeyNumber(1), 1L), (KeyNumber(2), 3L), (KeyNumber(3), 5L) })
            {
                string encryptedFile = _dir.Combine($"{rendition}-{scheme}-{from}.mp4"), clearFile = _dir.Combine($"{rendition}-clear-{from}.mp4");
                await File.WriteAllBytesAsync(encryptedFile, [.. init, .. Segment(store, rotated, rendition, from), .. Segment(store, rotated, rendition, from + 1)]);
                await File.WriteAllBytesAsync(clearFile, [.. Init(clearStore, clear, rendition), .. Segment(clearStore, clear, rendition, from),
                    .. Segment(clearStore, clear, rendition, from + 1)]);
                var frames = EncryptedPackagerTests.FrameHashes(encryptedFile, "-decryption_key", Hex(key));
                Assert.NotEmpty(frames);
                Assert.Equal(EncryptedPackagerTests.FrameHashes(clearFile), frames);
                if (rendition == StoreKeys.SourceRendition && from > 1)
                    Assert.NotEqual(frames, EncryptedPackagerTests.FrameHashes(encryptedFile, "-decryption_key", Hex(KeyNumber(1))));
            }
        }
    }

    /// <summary>The clip finisher's reader of the same segments: the keys each names, and every sample decrypted with the key
    /// its group names back to the clear build's samples.</summary>
    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public async Task The_decryptor_reads_each_fragments_key_and_gives_the_clear_samples_back(EncryptionScheme scheme)
    {
        var (clear, clearStore) = await PackageAsync("clear-read", null);
        await using var _ = clear;
        var (rotated, store) = await PackageAsync("rotated-read", Rotating(scheme, 2, Sequence()));
        await using var __ = rotated;
        var keys = Enumerable.Range(1, 4).Select(KeyNumber).ToDictionary(k => k.Id);
        foreach (var rendition in new[] { StoreKeys.SourceRendition, StoreKeys.AudioRendition })
        {
            var init = Init(store, rotated, rendition);
            var protection = ProtectedInit.Read(init)!;
            var clearInit = Init(clearStore, clear, rendition);
            var track = Broadcast.Packager.Cmaf.CmafReader.ReadInit(clearInit);
            using var decryptor = new TrackDecryptor(kid => keys.TryGetValue(kid, out var k) ? k : null, protection);
            foreach (var (n, key) in new[] { (1L, 1), (2L, 1), (3L, 2), (4L, 2), (5L, 3), (6L, 3) })
            {
                var segment = Segment(store, rotated, rendition, n);
                var entries = FragmentKeys.EntriesOf(segment, protection);
                Assert.Equal(KeyNumber(key).Id, Assert.Single(entries).KeyId);
                var decrypted = Broadcast.Packager.Cmaf.CmafReader.ReadSamples(decryptor.Decrypt(segment, track), track);
                var expected = Broadcast.Packager.Cmaf.CmafReader.ReadSamples(Segment(clearStore, clear, rendition, n), track);
                Assert.Equal(expected.Count, decrypted.Count);
                for (int i = 0; i < expected.Count; i++)
                    Assert.True(expected[i].Data.Span.SequenceEqual(decrypted[i].Data.Span), $"{rendition} segment {n} sample {i}");
            }
            // Without the period's key, the decryptor says which KID it lacks.
            using var firstOnly = new TrackDecryptor(kid => kid == KeyNumber(1).Id ? KeyNumber(1) : null, protection);
            var third = Segment(store, rotated, rendition, 3);
            var refused = Assert.Throws<InvalidDataException>(() => { firstOnly.Decrypt(third, track); });
            Assert.Contains(KeyNumber(2).Id.ToString(), refused.Message, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task The_playlists_name_each_key_before_its_first_segment_and_the_mpd_names_no_kid()
    {
        var (rotated, store) = await PackageAsync("playlists", Rotating(EncryptionScheme.Cbcs, 2, Sequence()));
        await using var _ = rotated;
        static string Tag(int n) => "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64," + Convert.ToBase64String(KeyNumber(n).Id.ToArray())
            + "\",KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"\n";
        string vod = File.ReadAllText(store.PathOf(StoreKeys.VodPlaylist("chan", StoreKeys.SourceRendition, rotated.BroadcastId)));
        string S(long n) => Broadcast.Packager.Segmenting.SegmentDescription.FileNameOf(rotated.BroadcastId, n);
        int a = vod.IndexOf(Tag(1), StringComparison.Ordinal), b = vod.IndexOf(Tag(2), StringComparison.Ordinal), c = vod.IndexOf(Tag(3), StringComparison.Ordinal);
        Assert.True(a >= 0 && a < vod.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal), vod);
        Assert.True(vod.IndexOf(S(2), StringComparison.Ordinal) < b && b < vod.IndexOf(S(3), StringComparison.Ordinal), vod);
        Assert.True(vod.IndexOf(S(4), StringComparison.Ordinal) < c && c < vod.IndexOf(S(5), StringComparison.Ordinal), vod);
        Assert.Equal(3, vod.Split("#EXT-X-KEY:").Length - 1);
        // The live (ended) playlist's window of three starts in the second period: its first key is B's, then C's.
        string live = File.ReadAllText(store.PathOf(StoreKeys.MediaPlaylist("chan", StoreKeys.SourceRendition)));
        Assert.DoesNotContain(Tag(1), live, StringComparison.Ordinal);
        Assert.True(live.IndexOf(Tag(2), StringComparison.Ordinal) is int lb and >= 0 && lb < live.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal), live);
        Assert.True(live.IndexOf(S(4), StringComparison.Ordinal) < live.IndexOf(Tag(3), StringComparison.Ordinal), live);
        // The master's session key is the first key's.
        Assert.Contains("#EXT-X-SESSION-KEY:" + Tag(1)["#EXT-X-KEY:".Length..], File.ReadAllText(store.PathOf(StoreKeys.Master("chan"))), StringComparison.Ordinal);

        var mpd = System.Xml.Linq.XDocument.Parse(File.ReadAllText(store.PathOf(StoreKeys.Mpd("chan"))));
        System.Xml.Linq.XNamespace dash = "urn:mpeg:dash:schema:mpd:2011", cenc = "urn:mpeg:cenc:2013";
        foreach (var set in mpd.Descendants(dash + "AdaptationSet"))
        {
            var descriptors = set.Elements(dash + "ContentProtection").ToList();
            var mp4 = Assert.Single(descriptors, d => (string?)d.Attribute("schemeIdUri") == "urn:mpeg:dash:mp4protection:2011");
            Assert.Equal("cbcs", (string?)mp4.Attribute("value"));
            Assert.Null(mp4.Attribute(cenc + "default_KID"));
            Assert.Single(descriptors, d => (string?)d.Attribute("schemeIdUri") == DashContentProtection.ClearKeyScheme);
            Assert.Empty(set.Descendants(cenc + "pssh"));
        }
    }

    /// <summary>HLS whole-segment encryption rotates too: each period's key URL after the map or before its first segment, and
    /// each stored segment encrypted whole (RFC 8216bis §5.2: its media sequence number as IV) under its period's key.</summary>
    [Fact]
    public async Task Aes128_segments_are_encrypted_whole_under_their_periods_key_named_by_its_url()
    {
        static string Url(ContentKey key) => $"https://media.example/live/chan/key/{Convert.ToHexStringLower(key.Id.ToArray())}";
        int asked = 1;
        var first = BroadcastProtection.From(EncryptionScheme.Aes128, GrantOf(KeyNumber(1)) with { KeyUrl = Url(KeyNumber(1)) });
        var protection = first with
        {
            Rotation = new KeyRotation(2, _ =>
            {
                var key = KeyNumber(Interlocked.Increment(ref asked));
                return ValueTask.FromResult(GrantOf(key) with { KeyUrl = Url(key) });
            }),
        };
        var (rotated, store) = await PackageAsync("aes", protection);
        await using var _ = rotated;
        string vod = File.ReadAllText(store.PathOf(StoreKeys.VodPlaylist("chan", StoreKeys.SourceRendition, rotated.BroadcastId)));
        string Tag(int n) => $"#EXT-X-KEY:METHOD=AES-128,URI=\"{Url(KeyNumber(n))}\"\n";
        string S(long n) => Broadcast.Packager.Segmenting.SegmentDescription.FileNameOf(rotated.BroadcastId, n);
        int at(string what) => vod.IndexOf(what, StringComparison.Ordinal);
        Assert.True(at("#EXT-X-MAP:") < at(Tag(1)) && at(Tag(1)) < at(S(1)) && at(S(2)) < at(Tag(2)) && at(Tag(2)) < at(S(3))
            && at(S(4)) < at(Tag(3)) && at(Tag(3)) < at(S(5)), vod);
        Assert.Equal(3, vod.Split("#EXT-X-KEY:").Length - 1);
        foreach (var (n, key) in new[] { (1L, 1), (2L, 1), (3L, 2), (4L, 2), (5L, 3), (6L, 3) })
        {
            var stored = Segment(store, rotated, StoreKeys.SourceRendition, n);
            using var aes = System.Security.Cryptography.Aes.Create();
            var raw = new byte[16];
            KeyNumber(key).CopyKeyTo(raw);
            aes.Key = raw;
            var iv = new byte[16];
            BinaryPrimitives.WriteInt64BigEndian(iv.AsSpan(8), n);
            var clear = aes.DecryptCbc(stored, iv);
            Assert.True(clear.AsSpan(4, 4).SequenceEqual("styp"u8), $"segment {n} under key {key}");
        }
    }

    [Fact]
    public async Task A_key_not_yet_given_holds_the_rotation_and_a_refused_one_is_asked_again()
    {
        // The answer is the packager's as soon as the test gives it: given off xunit's synchronization context (Task.Run), the
        // ask's continuations run inline in TrySetResult. On that context they were queued to the thread pool instead, and
        // on a loaded machine the packager decided segment 4 before they ran (a clean clone: segment 4 under key 1).
        var late = new TaskCompletionSource<ContentKeyGrant>();
        int asks = 0;
        var protection = Rotating(EncryptionScheme.Cenc, 1, async ct =>
        {
            int ask = Interlocked.Increment(ref asks);
            if (ask == 1) return await late.Task.ConfigureAwait(false);
            if (ask == 2) throw new InvalidOperationException("the key server said 503");
            return GrantOf(KeyNumber(ask + 1));
        });
        // Segment 2 and 3 are due for key 2, which comes only before segment 4; the next ask fails, so segment 5 keeps key 2.
        var (rotated, store) = await PackageAsync("late", protection, loops: 3, beforeSegment: async n =>
        {
            if (n == 4) Assert.True(await Task.Run(() => late.TrySetResult(GrantOf(KeyNumber(2)))));
        });
        await using var _ = rotated;
        var kids = Enumerable.Range(1, 6).Select(n => SeigKids(Segment(store, rotated, StoreKeys.SourceRendition, n)).Distinct().SingleOrDefault()).ToList();
        Assert.True(kids.Count == 6, string.Join(", ", kids));
        string said = string.Join(", ", kids.Select(k => k == default ? "default" : k.ToString()));
        Assert.True(kids.SequenceEqual([default, default, default, KeyNumber(2).Id, KeyNumber(2).Id, KeyNumber(4).Id]), said);
        Assert.True(asks >= 3);
    }
}
