using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// The FLV clip packaged encrypted: the boxes read back by <see cref="CencBoxReader"/>, the samples decrypted by the tests'
/// own decryptor equal to the clear ones, and ffmpeg (-decryption_key) decoding the 'cenc' and 'cbcs' files to the very
/// frames of the clear build (framemd5), while without the key it does not.
/// </summary>
[Trait("Kind", "Component")]
public class EncryptedCmafTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    internal const string KeyHex = "3c4f5d6e7f8091a2b3c4d5e6f708192a";
    internal static readonly KeyId Kid = KeyId.FromBytes(Convert.FromHexString("0123456789abcdef0123456789abcdef"));
    internal static readonly ContentKey Key = new(Kid, Convert.FromHexString(KeyHex));
    internal static readonly InitializationVector ConstantIv = InitializationVector.FromBytes(Convert.FromHexString("9a8b7c6d5e4f30211203f4e5d6c7b8a9"));

    internal static TrackEncryptor Encryptor(MediaTrack track, EncryptionScheme scheme) =>
        new(Key, scheme, track, 0x1122334455667788UL, scheme == EncryptionScheme.Cbcs ? ConstantIv : null);

    /// <summary>Init and segments (video cut at its keyframes, audio in three) as one file; clear when <paramref name="encryptor"/> is null.</summary>
    internal static byte[] Package(MediaTrack track, IReadOnlyList<ExpectedSample> samples, TrackEncryptor? encryptor)
    {
        var output = new ArrayBufferWriter<byte>();
        var pssh = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [Kid], []);
        CmafWriter.WriteInitSegment(output, track, 1, encryptor?.Protection([pssh]));
        var all = samples.ToArray();
        var cuts = track.Kind == MediaKind.Video
            ? Enumerable.Range(0, all.Length).Where(i => all[i].IsSync).Append(all.Length).ToList()
            : [0, all.Length / 3, 2 * all.Length / 3, all.Length];
        for (int s = 0; s + 1 < cuts.Count; s++)
        {
            var segment = all[cuts[s]..cuts[s + 1]].Select(x => x.ToCmaf()).ToArray();
            var encryption = encryptor?.Encrypt(segment, TrackEncryptor.Place(s + 1, 0, 0));
            CmafWriter.WriteMediaSegment(output, (uint)(s + 1), 1, all[cuts[s]].Dts, segment, track.Kind, encryption);
        }
        return output.WrittenSpan.ToArray();
    }

    private (MediaTrack Track, IReadOnlyList<ExpectedSample> Samples) Track(MediaKind kind) =>
        kind == MediaKind.Video ? (clip.Video, clip.VideoSamples) : (clip.Audio, clip.AudioSamples);

    [Theory]
    [InlineData(MediaKind.Video, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cenc)]
    public void Boxes_read_back_and_samples_decrypt_to_the_clear_ones(MediaKind kind, EncryptionScheme scheme)
    {
        var (track, samples) = Track(kind);
        using var encryptor = Encryptor(track, scheme);
        var file = Package(track, samples, encryptor);

        var cenc = CencBoxReader.ReadInit(file);
        bool video = kind == MediaKind.Video;
        Assert.Equal(video ? "encv" : "enca", cenc.SampleEntry);
        Assert.Equal(video ? "avc1" : "mp4a", cenc.OriginalFormat);
        Assert.Equal(scheme == EncryptionScheme.Cenc ? "cenc" : "cbcs", cenc.Scheme);
        Assert.Equal(0x00010000u, cenc.SchemeVersion);
        Assert.True(cenc.IsProtected);
        Assert.Equal(Kid, cenc.KeyId);
        Assert.Single(cenc.Pssh);
        if (scheme == EncryptionScheme.Cenc)
        {
            Assert.Equal((0, 8, 0, 0), (cenc.TencVersion, cenc.PerSampleIvSize, cenc.CryptBlocks, cenc.SkipBlocks));
            Assert.Null(cenc.ConstantIv);
        }
        else
        {
            Assert.Equal((1, 0, 1, 9), (cenc.TencVersion, cenc.PerSampleIvSize, cenc.CryptBlocks, cenc.SkipBlocks));
            Assert.Equal(Convert.FromHexString("9a8b7c6d5e4f30211203f4e5d6c7b8a9"), cenc.ConstantIv);
        }

        int init = Mp4BoxEnd(file);
        var read = CencBoxReader.ReadSamples(file.AsMemory(init), cenc);
        Assert.Equal(samples.Count, read.Count);
        Assert.Equal(samples.Count, read.Select(r => Convert.ToHexString(r.Iv)).Distinct().Count() * (scheme == EncryptionScheme.Cenc ? 1 : samples.Count));
        var key = Convert.FromHexString(KeyHex);
        for (int i = 0; i < samples.Count; i++)
        {
            Assert.Equal(video, read[i].Subsamples.Count > 0);
            Assert.NotEqual(samples[i].Data, read[i].Data.ToArray());
            var iv = cenc.ConstantIv ?? read[i].Iv;
            Assert.Equal(samples[i].Data, CencTestDecryptor.Decrypt(read[i].Data.Span, key, scheme, iv, read[i].Subsamples, cenc.CryptBlocks, cenc.SkipBlocks));
        }
    }

    [Fact]
    public void Cbcs_audio_is_whole_block_full_sample_with_no_auxiliary_information()
    {
        using var encryptor = Encryptor(clip.Audio, EncryptionScheme.Cbcs);
        var file = Package(clip.Audio, clip.AudioSamples, encryptor);
        var cenc = CencBoxReader.ReadInit(file);
        Assert.Equal(("enca", "cbcs", 1, 0, 0, 0), (cenc.SampleEntry, cenc.Scheme, (int)cenc.TencVersion, cenc.PerSampleIvSize, cenc.CryptBlocks, cenc.SkipBlocks));
        var traf = Broadcast.TestSupport.Mp4BoxReader.Read(file.AsMemory(Mp4BoxEnd(file))).First(b => b.Type == "moof").Find("traf");
        Assert.DoesNotContain(traf.Children, b => b.Type is "senc" or "saiz" or "saio");
        var read = CmafReader.ReadSamples(file.AsMemory(Mp4BoxEnd(file)), CmafReader.ReadInit(file));
        var key = Convert.FromHexString(KeyHex);
        for (int i = 0; i < read.Count; i++)
            Assert.Equal(clip.AudioSamples[i].Data, CencTestDecryptor.Decrypt(read[i].Data.Span, key, EncryptionScheme.Cbcs, cenc.ConstantIv!, [], 0, 0));
    }

    [Fact]
    public void Without_encryption_no_protection_box_is_written()
    {
        // The byte-for-byte check of the clear path is the existing writer and golden tests, unchanged and passing.
        var clear = Package(clip.Video, clip.VideoSamples, null);
        Assert.DoesNotContain("encv"u8.ToArray(), Chunks(clear));
        Assert.Equal(-1, clear.AsSpan().IndexOf("senc"u8));
        Assert.Equal(-1, clear.AsSpan().IndexOf("pssh"u8));
    }

    [Theory]
    [InlineData(MediaKind.Video, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cbcs)]
    public void Ffmpeg_decrypts_to_the_clear_builds_frames_and_not_without_the_key(MediaKind kind, EncryptionScheme scheme)
    {
        var (track, samples) = Track(kind);
        using var encryptor = Encryptor(track, scheme);
        string name = $"{kind}-{scheme}".ToLowerInvariant();
        string clearFile = clip.Directory.Combine($"{name}-clear.mp4");
        string encryptedFile = clip.Directory.Combine($"{name}-encrypted.mp4");
        File.WriteAllBytes(clearFile, Package(track, samples, null));
        File.WriteAllBytes(encryptedFile, Package(track, samples, encryptor));

        var (clearCode, clearFrames) = FrameMd5(clearFile);
        Assert.Equal(0, clearCode);
        var (code, frames) = FrameMd5(encryptedFile, "-decryption_key", KeyHex);
        Assert.Equal(0, code);
        Assert.Equal(samples.Count, clearFrames.Count);
        Assert.Equal(clearFrames, frames);

        var (withoutKeyCode, withoutKey) = FrameMd5(encryptedFile);
        Assert.True(withoutKeyCode != 0 || !withoutKey.SequenceEqual(clearFrames), "the frames decoded without the key");
        var (wrongKeyCode, wrongKey) = FrameMd5(encryptedFile, "-decryption_key", "00112233445566778899aabbccddeeff");
        Assert.True(wrongKeyCode != 0 || !wrongKey.SequenceEqual(clearFrames), "the frames decoded with a wrong key");
    }

    /// <summary>ffmpeg's exit code and the hashes of the frames it decoded, the file fed through a pipe (<see cref="Broadcast.TestSupport.FrameMd5"/>).</summary>
    internal static (int Code, IReadOnlyList<string> Frames) FrameMd5(string file, params string[] before)
    {
        var decoded = Broadcast.TestSupport.FrameMd5.Of(file, "0", before);
        return (decoded.ExitCode, decoded.Hashes);
    }

    private static IEnumerable<byte[]> Chunks(byte[] file)
    {
        for (int i = 0; i + 4 <= file.Length; i++) yield return file[i..(i + 4)];
    }

    /// <summary>Where the init segment (ftyp, moov) ends in a packaged file.</summary>
    internal static int Mp4BoxEnd(byte[] file)
    {
        int at = 0;
        for (int n = 0; n < 2; n++) at += (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
        return at;
    }
}
