using System.Security.Cryptography;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Clips.Tests;

/// <summary>
/// A clip across two key periods of a rotated broadcast (docs/protection.md), made and finished with the real ffmpeg:
/// segment 1 under the first key, segments 2 and 3 under the next ('cbcs': fragments naming it in their 'seig' sample
/// group; 'aes-128': encrypted whole with it), each period's key tag before its first segment. Clipped from 1.3 s to 4.5 s,
/// each key tag stands before the first segment the clip lists of its period, the first piece is encrypted with the first
/// key and the last with the next (its own init naming it as default KID), both keys asked of the provider once, and
/// every object the clip lists decrypts with the key its tag names to the frames asked for.
/// </summary>
[Trait("Kind", "Component")]
public sealed class RotatedClipTests : IDisposable
{
    private const string Slug = StoredClipMedia.Slug;
    private static readonly DateTimeOffset T0 = StoredClipMedia.T0;
    private static readonly DateTimeOffset From = T0.AddMilliseconds(1300), To = T0.AddMilliseconds(4500);
    private readonly StoredClipMedia _media = new("rotated-clip");
    private readonly StoredProtection _first = StoredProtection.Cbcs, _next = StoredProtection.CbcsNext;

    public void Dispose() => _media.Dispose();

    private StoredProtection ByKid(KeyId? kid) => kid == _first.Key.Id ? _first : kid == _next.Key.Id ? _next
        : throw new InvalidOperationException($"no test key {kid}");

    [Fact]
    public async Task A_cbcs_clip_across_two_key_periods_names_each_key_before_its_segments_and_encrypts_each_piece_with_its_segment_s_key()
    {
        await _media.StoreAsync(protection: _first, rotateTo: _next);
        await _media.MakeAsync("clip-r", From, To);
        var keys = new StoredProtection.Provider(_first, _next);
        Assert.False(await _media.Finisher(keys).FinishAsync(new ClipFinishJob(Slug, "clip-r", From, To), default));
        Assert.Equal((From, To), _media.Clips.Cut["clip-r"]);
        Assert.Equal([_first.Key.Id, _next.Key.Id], keys.Asked.Distinct());
        Assert.Equal(2, keys.Asked.Count);

        string folder = StoreKeys.ClipFolder(Slug, "clip-r");
        foreach (var rendition in new[] { "source", "audio" })
        {
            string text = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-r", rendition)));
            Assert.Equal(
            [
                _first.KeyTag, $"#EXT-X-MAP:URI=\"{rendition}/first-init.mp4\"", $"{rendition}/first.m4s", _next.KeyTag,
                $"#EXT-X-MAP:URI=\"../../{rendition}/{StoredClipMedia.Broadcast}-init.mp4\"", $"../../{rendition}/{StoredClipMedia.Broadcast}-2.m4s",
                $"#EXT-X-MAP:URI=\"{rendition}/last-init.mp4\"", $"{rendition}/last.m4s",
            ], Shape(text));
            var playlist = StoredMediaPlaylist.Parse(text);
            Assert.Equal([_first.Key.Id, _next.Key.Id, _next.Key.Id], playlist.Segments.Select(s => s.SampleKeyId!.Value));

            // Each listed object, after its init, decrypts with the one key its tag names; the pieces' inits name it as default KID.
            for (int i = 0; i < playlist.Segments.Count; i++)
            {
                var segment = playlist.Segments[i];
                var key = ByKid(segment.SampleKeyId);
                var init = await File.ReadAllBytesAsync(PathOf(folder, segment.MapUri!));
                var media = await File.ReadAllBytesAsync(PathOf(folder, segment.Uri));
                var protection = ProtectedInit.Read(init)!;
                bool piece = i != 1;
                if (piece)
                {
                    Assert.Equal((key.Key.Id, key.ConstantIv), (protection.KeyId, protection.ConstantIv));
                    Assert.Equal(key.Pssh, Assert.Single(protection.SystemHeaders).ToArray());
                    Assert.DoesNotContain(FragmentKeys.Read(media).SelectMany(t => t.Runs), r => r.Group is not null);
                }
                else
                {
                    // The stored segment: under the first key's init, its fragments naming the next key.
                    Assert.Equal(_first.Key.Id, protection.KeyId);
                    Assert.Equal([_next.Key.Id], FragmentKeys.EntriesOf(media, protection).Select(e => e.KeyId));
                }
                using var decryptor = new TrackDecryptor(kid => kid == key.Key.Id ? key.Key : null, protection);
                string clear = Path.Combine(_media.Root, $"{rendition}-{i}-clear.mp4");
                await File.WriteAllBytesAsync(clear, [.. ProtectedInit.Clear(init), .. decryptor.Decrypt(media, CmafReader.ReadInit(init))]);
                var decoded = FrameMd5.Of(clear, "0");
                Assert.True(decoded.ExitCode == 0, decoded.Errors);
                Assert.NotEmpty(decoded.Hashes);
                // 1.3 s into the first 30 fps segment is its frame 39; the stored segment and the last piece start on frame 0.
                if (rendition == "source") Assert.Equal(i == 0 ? 39 : 0, StoredClipMedia.ProbeFile(clear).First);
                if (!piece) continue;
                // ffmpeg's own decryption with the piece's key gives the same frames; with the other key it does not.
                string encrypted = Path.Combine(_media.Root, $"{rendition}-{i}-encrypted.mp4");
                await File.WriteAllBytesAsync(encrypted, [.. init, .. media]);
                var withKey = FrameMd5.Of(encrypted, "0", "-decryption_key", key.KeyHex);
                Assert.Equal(decoded.Hashes, withKey.Hashes);
                var other = FrameMd5.Of(encrypted, "0", "-decryption_key", ByKid(key == _first ? _next.Key.Id : _first.Key.Id).KeyHex);
                Assert.True(other.ExitCode != 0 || !other.Hashes.SequenceEqual(withKey.Hashes), $"{rendition} piece {i} decoded with the other key");
            }
        }
    }

    [Fact]
    public async Task A_cbcs_segment_under_another_key_than_its_playlist_names_or_one_the_provider_lacks_is_not_cut()
    {
        await _media.StoreAsync(protection: _first, rotateTo: _next);
        // The stored playlists without the next period's tag: segment 3 is listed under the first key, its fragments name the next.
        var stored = new Dictionary<string, string>();
        foreach (var rendition in new[] { "source", "audio" })
        {
            string path = _media.PathOf(StoreKeys.MediaPlaylist(Slug, rendition));
            stored[path] = await File.ReadAllTextAsync(path);
            await File.WriteAllTextAsync(path, stored[path].Replace(_next.KeyTag + "\n", "", StringComparison.Ordinal));
        }
        await _media.MakeAsync("clip-w", From, To);
        var wrong = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher(new StoredProtection.Provider(_first, _next)).CutAsync(new ClipFinishJob(Slug, "clip-w", From, To), default));
        Assert.Contains($"names the key {_first.Key.Id} for", wrong.Message, StringComparison.Ordinal);
        Assert.Contains($"whose samples are under {_next.Key.Id}", wrong.Message, StringComparison.Ordinal);

        // As stored, with a provider that no longer has the next key: the first piece is cut, then the last is not.
        foreach (var (path, text) in stored) await File.WriteAllTextAsync(path, text);
        await _media.MakeAsync("clip-g", From, To);
        var gone = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher(new StoredProtection.Provider(_first)).CutAsync(new ClipFinishJob(Slug, "clip-g", From, To), default));
        Assert.Contains($"no longer has the broadcast's key {_next.Key.Id}", gone.Message, StringComparison.Ordinal);

        // Either way the clip stays as made (segment-accurate, its playlists alone in its folder), no piece behind.
        foreach (var id in new[] { "clip-w", "clip-g" })
        {
            Assert.All(Directory.GetFiles(_media.PathOf(StoreKeys.ClipFolder(Slug, id)), "*", SearchOption.AllDirectories),
                f => Assert.EndsWith(".m3u8", f, StringComparison.Ordinal));
            Assert.False(_media.Clips.Cut.ContainsKey(id));
        }
    }

    [Fact]
    public async Task An_aes_128_clip_across_two_key_periods_names_each_period_s_key_uri_and_every_object_decrypts_and_plays()
    {
        await _media.StoreAsync(wholeSegment: _first, rotateTo: _next);
        await _media.MakeAsync("clip-a", From, To);
        var keys = new StoredProtection.Provider(_first, _next);
        Assert.False(await _media.Finisher(keys).FinishAsync(new ClipFinishJob(Slug, "clip-a", From, To), default));
        Assert.Equal((From, To), _media.Clips.Cut["clip-a"]);
        Assert.Equal([_first.Key.Id, _next.Key.Id], keys.Asked.Distinct());
        Assert.Equal(2, keys.Asked.Count);

        string folder = StoreKeys.ClipFolder(Slug, "clip-a");
        foreach (var rendition in new[] { "source", "audio" })
        {
            var playlist = StoredMediaPlaylist.Parse(await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-a", rendition))));
            Assert.Equal([_first.KeyUri, _next.KeyUri, _next.KeyUri], playlist.Segments.Select(s => s.Key!.Uri));
            Assert.Equal(2, (long)playlist.Segments[1].Key!.Iv);
            using var aes = Aes.Create();
            for (int i = 0; i < playlist.Segments.Count; i++)
            {
                var s = playlist.Segments[i];
                aes.Key = Convert.FromHexString(ByKid(s.Key!.KeyId).KeyHex);
                var clear = aes.DecryptCbc(await File.ReadAllBytesAsync(PathOf(folder, s.Uri)), s.Key.IvBytes(), PaddingMode.PKCS7);
                string file = Path.Combine(_media.Root, $"{rendition}-{i}-clear.mp4");
                await File.WriteAllBytesAsync(file, [.. await File.ReadAllBytesAsync(PathOf(folder, s.MapUri!)), .. clear]);
                var decoded = FrameMd5.Of(file, "0");
                Assert.True(decoded.ExitCode == 0, decoded.Errors);
                Assert.NotEmpty(decoded.Hashes);
                if (rendition == "source") Assert.Equal(i == 0 ? 39 : 0, StoredClipMedia.ProbeFile(file).First);
            }
        }

        // ffmpeg reads the clip's master from a loopback server that answers both keys at their URIs: every frame of 1.3 s to 4.5 s.
        string keyFolder = Path.Combine(_media.Root, "keys", Slug, "key");
        Directory.CreateDirectory(keyFolder);
        foreach (var key in new[] { _first, _next })
            await File.WriteAllBytesAsync(Path.Combine(keyFolder, Convert.ToHexStringLower(key.Key.Id.ToArray())), Convert.FromHexString(key.KeyHex));
        await using var server = await StaticFileServer.StartAsync(new Dictionary<string, string>
        {
            [""] = Path.Combine(_media.Root, "store"), ["live"] = Path.Combine(_media.Root, "keys"),
        });
        string packets = MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", server.Url(StoreKeys.ClipMaster(Slug, "clip-a")).ToString(),
            "-map", "0:v", "-c", "copy", "-f", "framemd5", "-");
        Assert.Equal(96, packets.Split('\n').Count(l => l.Length > 0 && l[0] != '#'));
    }

    /// <summary>The key, map and segment lines of a playlist, in order.</summary>
    private static string[] Shape(string playlist) => playlist.Split('\n')
        .Where(l => l.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal) || l.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)
            || l.Length > 0 && l[0] != '#').ToArray();

    private string PathOf(string clipFolder, string uri) => Path.GetFullPath(Path.Combine(_media.PathOf(clipFolder), uri));
}
