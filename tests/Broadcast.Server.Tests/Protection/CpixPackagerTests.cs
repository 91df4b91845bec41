using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection.Cpix;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// A broadcast packaged with a grant from the CPIX key provider (against <see cref="CpixKeyServerStandIn"/>): its init
/// segment's moov carries the key server's pssh boxes, byte for byte, its MPD names each vendor system with its pssh, and its
/// playlists carry each vendor's key tags (FairPlay's, which has no pssh, too) beside ClearKey's.
/// </summary>
public sealed class CpixPackagerTests() : CpixPackagingTest("cpix-packager")
{
    [Fact]
    public async Task The_init_segment_carries_the_key_server_s_pssh_boxes_and_the_playlists_its_key_tags()
    {
        using var provider = new CpixKeyProvider(new CpixOptions { Url = KeyServer.Url.ToString(), Systems = ["widevine", "playready", "fairplay"] },
            new CpixKeyProviderTests.CapturingLogger<CpixKeyProvider>());
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);
        var store = new FileSystemSegmentStore(Dir.Path);
        var time = new ManualClock(new DateTimeOffset(2026, 12, 1, 19, 0, 0, TimeSpan.Zero));
        var options = new PackagerOptions { SegmentSeconds = 1, WindowSegments = 3 };
        // An audio-only broadcast: the protection boxes are the same in every rendition's init segment.
        await using var packager = new StreamPackager(new BroadcastSettings
        {
            Channel = "chan", VideoRenditions = [], Protection = BroadcastProtection.From(EncryptionScheme.Cbcs, grant),
        }, store, options, time);
        var track = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        for (long dts = 0; dts < 48000 * 4; dts += 1024)
        {
            await packager.PushAudioAsync(MediaFrame.Rent(track, dts, 0, true, new byte[200]), default);
            time.Advance(TimeSpan.FromMilliseconds(1024 * 1000.0 / 48000));
        }
        await packager.CompleteAsync(default);

        byte[] init = await File.ReadAllBytesAsync(store.PathOf(StoreKeys.Init("chan", StoreKeys.AudioRendition, packager.BroadcastId, 0)));
        var boxes = PsshBoxes(init);
        Assert.Equal(grant.Systems.Select(s => Convert.ToHexString(s.Pssh.Span)), boxes.Select(Convert.ToHexString));
        Assert.Equal(CpixKeyServerStandIn.PsshFor(CpixOptions.Widevine, grant.Key.Id), boxes[0]);

        string mpd = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(Dir.Path, "*.mpd", SearchOption.AllDirectories)));
        foreach (var system in grant.Systems)
            Assert.Contains($"schemeIdUri=\"urn:uuid:{KeyId.UuidText(system.SystemId)}\"><cenc:pssh>{Convert.ToBase64String(system.Pssh.Span)}</cenc:pssh>",
                mpd, StringComparison.Ordinal);
        Assert.Contains($"cenc:default_KID=\"{grant.Key.Id.ToUuidString()}\"", mpd, StringComparison.Ordinal);
        Assert.DoesNotContain(KeyId.UuidText(CpixOptions.FairPlay), mpd, StringComparison.Ordinal);

        Assert.Equal(2, grant.Systems.Count); // FairPlay has no pssh
        Assert.Equal(3, grant.HlsKeys.Count);
        var playlists = Directory.GetFiles(Dir.Path, "*.m3u8", SearchOption.AllDirectories).Select(File.ReadAllText).ToList();
        string master = Assert.Single(playlists, p => p.Contains("#EXT-X-STREAM-INF", StringComparison.Ordinal));
        string media = Assert.Single(playlists, p => p.Contains("#EXT-X-MAP", StringComparison.Ordinal));
        foreach (var tags in grant.HlsKeys)
        {
            Assert.Contains(tags.Master + "\n", master, StringComparison.Ordinal);
            // Before the map, like ClearKey's: in force for every segment listed (RFC 8216bis §4.4.4.4).
            int at = media.IndexOf(tags.Media + "\n", StringComparison.Ordinal);
            Assert.InRange(at, 0, media.IndexOf("#EXT-X-MAP", StringComparison.Ordinal));
        }
        Assert.Contains("KEYFORMAT=\"com.apple.streamingkeydelivery\"", media, StringComparison.Ordinal);
        Assert.Contains("KEYFORMAT=\"org.w3.clearkey\"", media, StringComparison.Ordinal);
    }

    /// <summary>The pssh boxes directly in the moov (ISO/IEC 23001-7 §8.1), in order.</summary>
    private static List<byte[]> PsshBoxes(byte[] init)
    {
        var found = new List<byte[]>();
        for (int at = 0; at + 8 <= init.Length;)
        {
            int size = (int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(at));
            uint type = BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(at + 4));
            if (size < 8) break;
            if (type == 0x6D6F6F76) // 'moov': read its children
            {
                for (int inner = at + 8; inner + 8 <= at + size;)
                {
                    int innerSize = (int)BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(inner));
                    if (innerSize < 8) break;
                    if (BinaryPrimitives.ReadUInt32BigEndian(init.AsSpan(inner + 4)) == 0x70737368) found.Add(init[inner..(inner + innerSize)]);
                    inner += innerSize;
                }
            }
            at += size;
        }
        return found;
    }
}
