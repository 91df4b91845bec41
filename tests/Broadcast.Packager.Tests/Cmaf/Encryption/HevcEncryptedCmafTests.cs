using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// libx265 clips packaged encrypted, 'cenc' and 'cbcs', as the AVC clip is in <see cref="EncryptedCmafTests"/>: the sample
/// entry is encv with frma 'hvc1'; ffmpeg (-decryption_key, its mov demuxer, 'cbcs' included in Debian's 5.1) decodes them
/// to the very frames of the clear build (framemd5) and, without the key, not; and ffmpeg's trace_headers reads the very
/// same slice segment headers from the encrypted file without the key as from the clear one, which it could not if a bit
/// of them were encrypted. The decryptor (clips) gives the clear samples back, and a clear init read back is protected
/// again as its sample entry was, 'hvc1' or 'hev1'.
/// </summary>
[Trait("Kind", "Component")]
public class HevcEncryptedCmafTests(HevcClipFixture clips) : IClassFixture<HevcClipFixture>
{
    [Theory]
    [InlineData("weighted", EncryptionScheme.Cenc)]
    [InlineData("weighted", EncryptionScheme.Cbcs)]
    [InlineData("main10", EncryptionScheme.Cenc)]
    [InlineData("slices", EncryptionScheme.Cbcs)]
    public void Ffmpeg_decrypts_to_the_clear_frames_and_reads_the_clear_slice_headers_without_the_key(string name, EncryptionScheme scheme)
    {
        var clip = clips[name];
        using var encryptor = EncryptedCmafTests.Encryptor(clip.Track, scheme);
        string clearFile = clips.Directory.Combine($"{name}-{scheme}-clear.mp4".ToLowerInvariant());
        string encryptedFile = clips.Directory.Combine($"{name}-{scheme}-encrypted.mp4".ToLowerInvariant());
        File.WriteAllBytes(clearFile, EncryptedCmafTests.Package(clip.Track, clip.Samples, null));
        var encrypted = EncryptedCmafTests.Package(clip.Track, clip.Samples, encryptor);
        File.WriteAllBytes(encryptedFile, encrypted);
        Assert.Equal(0, encryptor.DamagedSamples);

        var cenc = CencBoxReader.ReadInit(encrypted);
        Assert.Equal(("encv", "hvc1", scheme == EncryptionScheme.Cenc ? "cenc" : "cbcs"), (cenc.SampleEntry, cenc.OriginalFormat, cenc.Scheme));

        var (clearCode, clearFrames) = EncryptedCmafTests.FrameMd5(clearFile);
        Assert.Equal(0, clearCode);
        Assert.Equal(clip.Samples.Count, clearFrames.Count);
        var (code, frames) = EncryptedCmafTests.FrameMd5(encryptedFile, "-decryption_key", EncryptedCmafTests.KeyHex);
        Assert.Equal(0, code);
        Assert.Equal(clearFrames, frames);
        var (withoutKeyCode, withoutKey) = EncryptedCmafTests.FrameMd5(encryptedFile);
        Assert.True(withoutKeyCode != 0 || !withoutKey.SequenceEqual(clearFrames), "the frames decoded without the key");

        var clearHeaders = TraceHeaders.Read(clearFile, "Slice Segment Header").Select(h => string.Join('\n', h.Fields)).ToList();
        var encryptedHeaders = TraceHeaders.Read(encryptedFile, "Slice Segment Header").Select(h => string.Join('\n', h.Fields)).ToList();
        Assert.True(clearHeaders.Count >= clip.Samples.Count);
        Assert.Equal(clearHeaders, encryptedHeaders);
    }

    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public void Decrypted_segments_are_the_clear_samples_and_a_clear_init_protects_again_to_the_packagers_bytes(EncryptionScheme scheme)
    {
        var clip = clips["weighted"];
        var pair = TrackDecryptorTests.Make(clip.Track, clip.Samples, scheme, 20);
        var protection = ProtectedInit.Read(pair.Init)!;
        Assert.Equal(FourCC.Hvc1, protection.OriginalFormat);
        var header = CmafReader.ReadInit(pair.Init);
        var decrypted = CmafReader.ReadSamples(TrackDecryptorTests.Decrypt(pair, EncryptedCmafTests.Key), header);
        Assert.Equal(pair.Samples.Length, decrypted.Count);
        for (int i = 0; i < decrypted.Count; i++) Assert.True(decrypted[i].Data.Span.SequenceEqual(pair.Samples[i].Data.Span), $"sample {i}");
        Assert.Equal(header, CmafReader.ReadInit(ProtectedInit.Clear(pair.Init)));

        var track = ProtectedInit.TrackOf(pair.ClearInit);
        Assert.Equal((Codec.H265, "hvc1"), (track.Codec, track.CodecString));
        using var encryptor = EncryptedCmafTests.Encryptor(track, scheme);
        Assert.Equal(pair.Init, ProtectedInit.Protect(pair.ClearInit, encryptor.Protection(protection.SystemHeaders)));
        Assert.Equal(pair.Segment, SegmentEncryption.Encrypt(pair.ClearSegment, CmafReader.ReadInit(pair.ClearInit), MediaKind.Video, encryptor));
    }

    [Fact]
    public void A_hev1_init_is_protected_with_frma_hev1_and_cleared_back_to_hev1()
    {
        var clip = clips["weighted"];
        var pair = TrackDecryptorTests.Make(clip.Track, clip.Samples, EncryptionScheme.Cbcs, 2);
        var hev1 = pair.ClearInit.ToArray();
        int entry = hev1.AsSpan().IndexOf("stsd"u8) + 16; // after stsd's type, version and flags, entry_count, the entry's size
        Assert.Equal(FourCC.Hvc1, BinaryPrimitives.ReadUInt32BigEndian(hev1.AsSpan(entry)));
        "hev1"u8.CopyTo(hev1.AsSpan(entry));

        var track = ProtectedInit.TrackOf(hev1);
        Assert.Equal((Codec.H265, "hev1"), (track.Codec, track.CodecString));
        using var encryptor = EncryptedCmafTests.Encryptor(track, EncryptionScheme.Cbcs);
        var protectedInit = ProtectedInit.Protect(hev1, encryptor.Protection([]));
        Assert.Equal(FourCC.Hev1, ProtectedInit.Read(protectedInit)!.OriginalFormat);
        Assert.Equal(("encv", "hev1"), (CencBoxReader.ReadInit(protectedInit).SampleEntry, CencBoxReader.ReadInit(protectedInit).OriginalFormat));
        var cleared = ProtectedInit.Clear(protectedInit);
        Assert.Equal(FourCC.Hev1, BinaryPrimitives.ReadUInt32BigEndian(cleared.AsSpan(entry)));
    }

    [Fact]
    public void Av1_is_still_refused_saying_what_is_supported()
    {
        var av1 = new VideoTrack(Codec.Av1, new byte[] { 0x81, 0, 0, 0 }, "av01.0.04M.08", 320, 240);
        var error = Assert.Throws<NotSupportedException>(() => EncryptedCmafTests.Encryptor(av1, EncryptionScheme.Cbcs));
        Assert.Contains("AVC and HEVC", error.Message, StringComparison.Ordinal);
    }
}
