using System.Security.Cryptography;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Clips.Tests;

/// <summary>
/// A clip of an aes-128 (whole-segment encrypted) broadcast, made and finished with the real ffmpeg: its master keeps the
/// session key, each media playlist names the key with every stored segment's original Media Sequence Number as explicit
/// IV after each map, its re-cut ends are encrypted whole under IVs of their own, every object it lists decrypts with
/// .NET's AES under the IV its tag names to a fragment that follows its clear init, ffmpeg plays it from a loopback
/// server that answers the key as the origin's key route does, and it gets no MP4 download.
/// </summary>
[Trait("Kind", "Component")]
public sealed class AesClipTests : IDisposable
{
    private const string Slug = StoredClipMedia.Slug;
    private static readonly DateTimeOffset T0 = StoredClipMedia.T0;
    private readonly StoredClipMedia _media = new("aes-clip");
    private readonly StoredProtection _protection = StoredProtection.Cbcs;

    public void Dispose() => _media.Dispose();

    [Fact]
    public async Task An_aes_128_broadcast_s_clip_names_each_segment_s_IV_and_its_ends_decrypt_and_play()
    {
        await _media.StoreAsync(wholeSegment: _protection);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-a", from, to);

        // ffmpeg plays the clip from a loopback server that serves the store and answers the key at the key URI.
        string keyFolder = Path.Combine(_media.Root, "keys", Slug, "key");
        Directory.CreateDirectory(keyFolder);
        await File.WriteAllBytesAsync(Path.Combine(keyFolder, Convert.ToHexStringLower(_protection.Key.Id.ToArray())),
            Convert.FromHexString(_protection.KeyHex));
        await using var server = await StaticFileServer.StartAsync(new Dictionary<string, string>
        {
            [""] = Path.Combine(_media.Root, "store"), ["live"] = Path.Combine(_media.Root, "keys"),
        });
        string url = server.Url(StoreKeys.ClipMaster(Slug, "clip-a")).ToString();
        // As made (segment-accurate: the stored segments 1 to 3 under their own IVs, though the clip numbers them from 0),
        // it decodes whole: 6 s of 30 fps video.
        Assert.Equal(180, Frames(MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-map", "0:v", "-f", "framemd5", "-")));

        Assert.Contains("\n" + _protection.WholeSegmentSessionKeyTag + "\n",
            await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMaster(Slug, "clip-a"))), StringComparison.Ordinal);

        var keys = new StoredProtection.Provider(_protection);
        Assert.False(await _media.Finisher(keys).FinishAsync(new ClipFinishJob(Slug, "clip-a", from, to), default));
        Assert.Equal((from, to), _media.Clips.Cut["clip-a"]);
        Assert.Equal([_protection.Key.Id], keys.Asked);
        Assert.False(_media.Clips.Downloads.ContainsKey("clip-a"));
        Assert.False(File.Exists(_media.PathOf(StoreKeys.ClipDownload(Slug, "clip-a"))));

        string folder = StoreKeys.ClipFolder(Slug, "clip-a");
        foreach (var rendition in new[] { "source", "audio" })
        {
            string text = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", rendition)));
            var lines = text.Split('\n');
            // Every key tag right after a map (the init segments are clear), and ended before the next map.
            for (int i = 0; i < lines.Length; i++)
            {
                if (lines[i].StartsWith("#EXT-X-KEY:METHOD=AES-128,", StringComparison.Ordinal))
                    Assert.StartsWith("#EXT-X-MAP:", lines[i - 1], StringComparison.Ordinal);
                if (lines[i].StartsWith("#EXT-X-MAP:", StringComparison.Ordinal) && i > 0 && text.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal) < text.IndexOf(lines[i], StringComparison.Ordinal))
                    Assert.Equal("#EXT-X-KEY:METHOD=NONE", lines[i - 1]);
            }
            Assert.Contains("\n" + _protection.WholeSegmentKeyTag + ",IV=0x00000000000000000000000000000002\n", text, StringComparison.Ordinal);
            var playlist = StoredMediaPlaylist.Parse(text);
            Assert.Equal([$"{rendition}/first.m4s", $"../../{rendition}/{StoredClipMedia.Broadcast}-2.m4s", $"{rendition}/last.m4s"],
                playlist.Segments.Select(s => s.Uri));
            Assert.Equal(2, (long)playlist.Segments[1].Key!.Iv);
            Assert.NotEqual(playlist.Segments[0].Key!.Iv, playlist.Segments[2].Key!.Iv);

            // Each listed object decrypts with .NET's AES under the IV its tag names, to a fragment after its clear init.
            using var aes = Aes.Create();
            aes.Key = Convert.FromHexString(_protection.KeyHex);
            for (int i = 0; i < playlist.Segments.Count; i++)
            {
                var s = playlist.Segments[i];
                var clear = aes.DecryptCbc(await File.ReadAllBytesAsync(PathOf(folder, s.Uri)), s.Key!.IvBytes(), PaddingMode.PKCS7);
                Assert.Equal(["moof", "mdat"], Mp4BoxReader.Read(clear).Select(b => b.Type).Where(t => t is "moof" or "mdat").Distinct());
                var init = await File.ReadAllBytesAsync(PathOf(folder, s.MapUri!));
                Assert.Contains("moov", Mp4BoxReader.Read(init).Select(b => b.Type));
                string file = Path.Combine(_media.Root, $"{rendition}-{i}-clear.mp4");
                await File.WriteAllBytesAsync(file, [.. init, .. clear]);
                var decoded = FrameMd5.Of(file, "0");
                Assert.True(decoded.ExitCode == 0, decoded.Errors);
                Assert.NotEmpty(decoded.Hashes);
                // 1.3 s into the first 30 fps segment is its frame 39; the stored segment and the last piece start on frame 0.
                if (rendition == "source") Assert.Equal(i == 0 ? 39 : 0, StoredClipMedia.ProbeFile(file).First);
            }
        }

        // Cut to the frame, ffmpeg (5.1) fetches, decrypts and demuxes every frame of it; it decodes the pieces alone (above),
        // not after the stored segment, since its HLS reader keeps the first init's moov through a later EXT-X-MAP.
        string packets = MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", url, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-");
        // 1.3 s to 4.5 s of 30 fps video: 96 frames.
        Assert.Equal(96, Frames(packets));
    }

    private static int Frames(string framemd5) => framemd5.Split('\n').Count(l => l.Length > 0 && l[0] != '#');

    [Fact]
    public async Task A_missing_key_or_object_leaves_the_clip_as_made_and_no_piece_behind()
    {
        await _media.StoreAsync(wholeSegment: _protection);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-m", from, to);
        string folder = StoreKeys.ClipFolder(Slug, "clip-m");
        var before = Directory.GetFiles(_media.PathOf(folder), "*", SearchOption.AllDirectories).Order().ToList();
        string playlist = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-m", "source")));

        var noProvider = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-m", from, to), default));
        Assert.Contains("no content key provider", noProvider.Message, StringComparison.Ordinal);
        var other = new StoredProtection.Provider(_protection with
        {
            Key = new Packager.Cmaf.Encryption.ContentKey(Packager.Cmaf.Encryption.KeyId.FromBytes(new byte[16]), new byte[16]),
        });
        var gone = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher(other).CutAsync(new ClipFinishJob(Slug, "clip-m", from, to), default));
        Assert.Contains("no longer has the broadcast's key", gone.Message, StringComparison.Ordinal);

        // The audio's ends and the video's first are cut and stored before the video's last segment is found missing: they go again.
        File.Delete(_media.PathOf($"{Slug}/source/{StoredClipMedia.Broadcast}-3.m4s"));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher(new StoredProtection.Provider(_protection)).CutAsync(new ClipFinishJob(Slug, "clip-m", from, to), default));
        Assert.Contains("is not in the store", missing.Message, StringComparison.Ordinal);

        Assert.Equal(before, Directory.GetFiles(_media.PathOf(folder), "*", SearchOption.AllDirectories).Order());
        Assert.Equal(playlist, await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-m", "source"))));
        Assert.False(_media.Clips.Cut.ContainsKey("clip-m"));
    }

    private string PathOf(string clipFolder, string uri) => Path.GetFullPath(Path.Combine(_media.PathOf(clipFolder), uri));
}
