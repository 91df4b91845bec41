using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Clips.Tests;

/// <summary>
/// A clip of a 'cbcs' broadcast (<see cref="StoredClipMedia"/> encrypted as the packager encrypts, its playlists with the
/// ClearKey key tags) made and finished by the real ffmpeg: its playlists name the broadcast's key, its ends are cut to
/// the frame from the decrypted segments and stored encrypted with the same key, which ffmpeg's own decryption
/// (<c>-decryption_key</c>) and ours both turn into the frames asked for, while without the key they are not; it gets no
/// MP4 download.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ProtectedClipTests : IDisposable
{
    private const string Slug = StoredClipMedia.Slug;
    private static readonly DateTimeOffset T0 = StoredClipMedia.T0;
    private readonly StoredClipMedia _media = new("protected-clip");
    private readonly StoredProtection _protection = StoredProtection.Cbcs;

    public void Dispose() => _media.Dispose();

    [Fact]
    public async Task A_cbcs_broadcast_s_clip_names_its_key_and_its_ends_are_encrypted_with_it_and_decrypt_to_the_frames_asked_for()
    {
        await _media.StoreAsync(protection: _protection);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-p", from, to);
        Assert.Contains("\n" + _protection.SessionKeyTag + "\n", await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMaster(Slug, "clip-p"))),
            StringComparison.Ordinal);

        var keys = new StoredProtection.Provider(_protection);
        Assert.False(await _media.Finisher(keys).FinishAsync(new ClipFinishJob(Slug, "clip-p", from, to), default));

        // Cut to the frame; the key asked once, by the stored init's KID; no MP4, which would be the media in the clear.
        Assert.Equal((from, to), _media.Clips.Cut["clip-p"]);
        Assert.Equal([_protection.Key.Id], keys.Asked);
        Assert.False(_media.Clips.Downloads.ContainsKey("clip-p"));
        Assert.False(File.Exists(_media.PathOf(StoreKeys.ClipDownload(Slug, "clip-p"))));
        foreach (var rendition in new[] { "source", "audio" })
        {
            string text = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-p", rendition)));
            var playlist = StoredMediaPlaylist.Parse(text);
            Assert.Equal([_protection.KeyTag], playlist.KeyTags);
            Assert.True(text.IndexOf(_protection.KeyTag, StringComparison.Ordinal) < text.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal));
            Assert.Equal([$"{rendition}/first.m4s", $"../../{rendition}/{StoredClipMedia.Broadcast}-2.m4s", $"{rendition}/last.m4s"],
                playlist.Segments.Select(s => s.Uri));
        }

        // 1.3 s into the first 30 fps segment is its frame 39; the last piece starts with the third segment's frame 0.
        foreach (var (rendition, end, firstFrame) in new[] { ("source", "first", 39), ("source", "last", 0), ("audio", "first", -1) })
        {
            string folder = StoreKeys.ClipFolder(Slug, "clip-p") + rendition + "/";
            var init = await File.ReadAllBytesAsync(_media.PathOf(folder + end + "-init.mp4"));
            var piece = await File.ReadAllBytesAsync(_media.PathOf(folder + end + ".m4s"));
            var protection = ProtectedInit.Read(init);
            Assert.NotNull(protection);
            Assert.Equal((EncryptionScheme.Cbcs, _protection.Key.Id, _protection.ConstantIv), (protection.Scheme, protection.KeyId, protection.ConstantIv));
            Assert.Equal(_protection.Pssh, Assert.Single(protection.SystemHeaders).ToArray());

            string encrypted = Path.Combine(_media.Root, $"{rendition}-{end}-encrypted.mp4");
            await File.WriteAllBytesAsync(encrypted, [.. init, .. piece]);
            var withKey = FrameMd5.Of(encrypted, "0", "-decryption_key", _protection.KeyHex);
            Assert.True(withKey.ExitCode == 0, withKey.Errors);
            Assert.NotEmpty(withKey.Hashes);
            var withoutKey = FrameMd5.Of(encrypted, "0");
            Assert.True(withoutKey.ExitCode != 0 || !withoutKey.Hashes.SequenceEqual(withKey.Hashes), $"{rendition} {end} decoded without the key");

            using var decryptor = new TrackDecryptor(_protection.Key, protection);
            string clear = Path.Combine(_media.Root, $"{rendition}-{end}-clear.mp4");
            await File.WriteAllBytesAsync(clear, [.. ProtectedInit.Clear(init), .. decryptor.Decrypt(piece, CmafReader.ReadInit(init))]);
            Assert.Equal(withKey.Hashes, FrameMd5.Of(clear, "0").Hashes);
            if (firstFrame >= 0) Assert.Equal(firstFrame, StoredClipMedia.ProbeFile(clear).First);
        }
    }

    [Fact]
    public async Task Without_the_broadcast_s_key_the_clip_stays_segment_accurate()
    {
        await _media.StoreAsync(protection: _protection);
        var from = T0.AddMilliseconds(1300);
        var to = T0.AddMilliseconds(4500);
        await _media.MakeAsync("clip-q", from, to);
        string before = await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-q", "source")));

        // A host that composes no key provider, and a provider that no longer has the KID.
        var noProvider = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher().CutAsync(new ClipFinishJob(Slug, "clip-q", from, to), default));
        Assert.Contains("no content key provider", noProvider.Message, StringComparison.Ordinal);
        var other = new StoredProtection.Provider(_protection with
        {
            Key = new Packager.Cmaf.Encryption.ContentKey(KeyId.FromBytes(new byte[16]), new byte[16]),
        });
        var gone = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _media.Finisher(other).CutAsync(new ClipFinishJob(Slug, "clip-q", from, to), default));
        Assert.Contains("no longer has the broadcast's key", gone.Message, StringComparison.Ordinal);

        Assert.Equal(before, await File.ReadAllTextAsync(_media.PathOf(StoreKeys.ClipMediaPlaylist(Slug, "clip-q", "source"))));
        Assert.False(_media.Clips.Cut.ContainsKey("clip-q"));
    }
}
