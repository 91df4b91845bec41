using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using static Broadcast.Packager.Tests.Cmaf.Encryption.CencBoxReaderTests;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// The decryptor (the inverse of <see cref="TrackEncryptor"/>) and the init segment's protection read back, cleared and
/// written again (<see cref="ProtectedInit"/>): what the packager encrypts decrypts to the clear samples, for 'cenc' and
/// 'cbcs', video and audio; protecting a clear init and encrypting a clear segment give the packager's own bytes; a wrong
/// key or damaged boxes are refused saying what was wrong.
/// </summary>
[Trait("Kind", "Component")]
public class TrackDecryptorTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    private static readonly byte[] Pssh = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [EncryptedCmafTests.Kid], []);

    /// <summary>A track's init segment and one media segment of <paramref name="count"/> samples: clear and encrypted.</summary>
    internal sealed record Pair(byte[] ClearInit, byte[] ClearSegment, byte[] Init, byte[] Segment, CmafSample[] Samples);

    internal static Pair Make(MediaTrack track, IReadOnlyList<ExpectedSample> source, EncryptionScheme scheme, int count)
    {
        var samples = source.Take(count).Select((s, i) => s.ToCmaf() with { IsSync = s.IsSync || i == 0 }).ToArray();
        long start = source[0].Dts;
        using var encryptor = EncryptedCmafTests.Encryptor(track, scheme);
        var clearInit = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(clearInit, track);
        var init = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(init, track, 1, encryptor.Protection([Pssh]));
        var clear = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(clear, 1, 1, start, samples, track.Kind);
        var segment = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(segment, 1, 1, start, samples, track.Kind, encryptor.Encrypt(samples, TrackEncryptor.Place(0, 0, 0)));
        return new Pair(clearInit.WrittenSpan.ToArray(), clear.WrittenSpan.ToArray(), init.WrittenSpan.ToArray(), segment.WrittenSpan.ToArray(), samples);
    }

    private Pair Make(MediaKind kind, EncryptionScheme scheme, int count = 12) => kind == MediaKind.Video
        ? Make(clip.Video, clip.VideoSamples, scheme, count)
        : Make(clip.Audio, clip.AudioSamples, scheme, count);

    internal static byte[] Decrypt(Pair pair, ContentKey key, byte[]? segment = null)
    {
        var protection = ProtectedInit.Read(pair.Init) ?? throw new InvalidDataException("not protected");
        using var decryptor = new TrackDecryptor(key, protection);
        return decryptor.Decrypt(segment ?? pair.Segment, CmafReader.ReadInit(pair.Init));
    }

    [Theory]
    [InlineData(MediaKind.Video, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cbcs)]
    public void Encrypted_segments_decrypt_to_the_clear_samples(MediaKind kind, EncryptionScheme scheme)
    {
        var pair = Make(kind, scheme);
        var protection = ProtectedInit.Read(pair.Init)!;
        Assert.Equal((scheme, EncryptedCmafTests.Kid, kind == MediaKind.Video ? FourCC.Avc1 : FourCC.Mp4a), (protection.Scheme, protection.KeyId,
            protection.OriginalFormat));
        Assert.Equal(scheme == EncryptionScheme.Cenc ? (8, 0, 0, (InitializationVector?)null) : (0, kind == MediaKind.Video ? 1 : 0, kind == MediaKind.Video ? 9 : 0,
            (InitializationVector?)EncryptedCmafTests.ConstantIv), (protection.PerSampleIvSize, protection.CryptBlocks, protection.SkipBlocks, protection.ConstantIv));
        Assert.Equal(Pssh, Assert.Single(protection.SystemHeaders).ToArray());

        var header = CmafReader.ReadInit(pair.Init);
        var encrypted = CmafReader.ReadSamples(pair.Segment, header);
        Assert.Contains(Enumerable.Range(0, pair.Samples.Length), i => !encrypted[i].Data.Span.SequenceEqual(pair.Samples[i].Data.Span));

        var decrypted = CmafReader.ReadSamples(Decrypt(pair, EncryptedCmafTests.Key), header);
        Assert.Equal(pair.Samples.Length, decrypted.Count);
        for (int i = 0; i < decrypted.Count; i++) Assert.True(decrypted[i].Data.Span.SequenceEqual(pair.Samples[i].Data.Span), $"sample {i}");

        // The clear init reads as a clear track: its original format, no sinf, no pssh.
        var cleared = ProtectedInit.Clear(pair.Init);
        Assert.Null(ProtectedInit.Read(cleared));
        Assert.Equal(pair.Init.Length, cleared.Length);
        Assert.Equal(header, CmafReader.ReadInit(cleared));
    }

    [Theory]
    [InlineData(MediaKind.Video, EncryptionScheme.Cenc)]
    [InlineData(MediaKind.Video, EncryptionScheme.Cbcs)]
    [InlineData(MediaKind.Audio, EncryptionScheme.Cbcs)]
    public void A_clear_init_and_segment_protected_again_are_the_packager_s_own_bytes(MediaKind kind, EncryptionScheme scheme)
    {
        var pair = Make(kind, scheme);
        var track = ProtectedInit.TrackOf(pair.ClearInit);
        Assert.Equal(kind, track.Kind);
        using var encryptor = EncryptedCmafTests.Encryptor(track, scheme);
        Assert.Equal(pair.Init, ProtectedInit.Protect(pair.ClearInit, encryptor.Protection([Pssh])));
        Assert.Equal(pair.Segment, SegmentEncryption.Encrypt(pair.ClearSegment, CmafReader.ReadInit(pair.ClearInit), kind, encryptor));
    }

    [Fact]
    public void Another_key_is_refused_and_a_wrong_key_under_the_kid_does_not_give_the_clear_samples()
    {
        var pair = Make(MediaKind.Video, EncryptionScheme.Cbcs);
        var other = new ContentKey(KeyId.FromBytes(new byte[16]), new byte[16]);
        Assert.Throws<ArgumentException>(() => Decrypt(pair, other));
        var wrong = new ContentKey(EncryptedCmafTests.Kid, Convert.FromHexString("00112233445566778899aabbccddeeff"));
        var samples = CmafReader.ReadSamples(Decrypt(pair, wrong), CmafReader.ReadInit(pair.Init));
        Assert.Contains(Enumerable.Range(0, samples.Count), i => !samples[i].Data.Span.SequenceEqual(pair.Samples[i].Data.Span));
    }

    [Fact]
    public void Damaged_encryption_boxes_are_refused_with_what_was_wrong()
    {
        var video = Make(MediaKind.Video, EncryptionScheme.Cenc, 4);
        var audio = Make(MediaKind.Audio, EncryptionScheme.Cenc, 5);
        var seg = video.Segment;
        int senc = Find(seg, "senc");

        Refused(video, Poke(seg, senc + 12, 5), "a senc describes 5 samples, its traf's truns 4");
        Refused(video, Poke(seg, Find(seg, "saiz") + 13, 3), "a saiz sizes 3 samples");
        Refused(video, Poke(seg, Find(seg, "saio") + 16, 0), "the saio's offset is not where the senc's entries start");
        Refused(audio, Poke(audio.Segment, Find(audio.Segment, "saiz") + 12, 0x09000000), "8 bytes in senc, 9 in saiz");
        int firstSubsample = senc + 16 + 8 + 2;
        Refused(video, Poke(seg, firstSubsample, BinaryPrimitives.ReadUInt32BigEndian(seg.AsSpan(firstSubsample)) + 1), "sample 0:");
        Refused(video, Poke(seg, senc + 16 + 8, 0xFFFF0000 | BinaryPrimitives.ReadUInt16BigEndian(seg.AsSpan(senc + 16 + 10))),
            "subsamples, more than its box holds");
        Refused(video, Poke(seg, Find(seg, "senc") + 4, 0x66726565), "has no senc"); // 'free', with saiz and saio left
        Refused(video, Poke(seg, senc, 0x7FFFFFFF), "does not fit");
        Refused(video, Poke(seg, Find(seg, "senc") + 8, 0), "after its 4 entries"); // no subsamples: the tables are left over

        // The init segment's tenc.
        int tenc = Find(video.Init, "tenc");
        Assert.Contains("Per_Sample_IV_Size is 7", Assert.Throws<InvalidDataException>(() => ProtectedInit.Read(Poke(video.Init, tenc + 12, 0x00000107)))
            .Message, StringComparison.Ordinal);
        Assert.Contains("has no sinf", Assert.Throws<InvalidDataException>(() => ProtectedInit.Read(Poke(video.Init, Find(video.Init, "sinf") + 4,
            0x66726565))).Message, StringComparison.Ordinal);
        Assert.Contains("not read", Assert.Throws<InvalidDataException>(() => ProtectedInit.Read(Poke(video.Init, Find(video.Init, "schm") + 12,
            0x63656E73))).Message, StringComparison.Ordinal); // 'cens'
        Assert.Throws<InvalidDataException>(() => ProtectedInit.Clear(video.ClearInit));
    }

    private static void Refused(Pair pair, byte[] segment, string reason) =>
        Assert.Contains(reason, Assert.Throws<InvalidDataException>(() => Decrypt(pair, EncryptedCmafTests.Key, segment)).Message,
            StringComparison.Ordinal);
}
