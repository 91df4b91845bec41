using System.Buffers.Binary;
using System.Text;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// Damaged Common Encryption boxes: the tests' reader refuses each with <see cref="InvalidDataException"/> saying what was
/// wrong (so the layout checks above are real checks), and the packager refuses a damaged pssh from a key provider.
/// </summary>
[Trait("Kind", "Component")]
public class CencBoxReaderTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    /// <summary>A small encrypted file: init and one segment of a few samples.</summary>
    internal static byte[] Small(MediaTrack track, IReadOnlyList<ExpectedSample> samples, EncryptionScheme scheme, int count)
    {
        using var encryptor = EncryptedCmafTests.Encryptor(track, scheme);
        return EncryptedCmafTests.Package(track, samples.Take(count).Select((s, i) => s with { IsSync = i == 0 }).ToList(), encryptor);
    }

    internal static int Find(byte[] file, string type, int nth = 0)
    {
        int at = -1;
        for (int n = 0; n <= nth; n++) at = file.AsSpan(at + 1).IndexOf(Encoding.ASCII.GetBytes(type)) + at + 1;
        return at - 4; // the box's size field
    }

    internal static byte[] Poke(byte[] file, int at, uint value)
    {
        var copy = file.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(at), value);
        return copy;
    }

    private static void Refused(byte[] file, string reason)
    {
        var error = Assert.Throws<InvalidDataException>(() =>
        {
            var track = CencBoxReader.ReadInit(file);
            CencBoxReader.ReadSamples(file.AsMemory(EncryptedCmafTests.Mp4BoxEnd(file)), track);
        });
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_boxes_are_refused_with_what_was_wrong()
    {
        var video = Small(clip.Video, clip.VideoSamples, EncryptionScheme.Cenc, 4);
        var audio = Small(clip.Audio, clip.AudioSamples, EncryptionScheme.Cenc, 5);
        var cbcs = Small(clip.Video, clip.VideoSamples, EncryptionScheme.Cbcs, 4);

        // Each damage moves one field the writer sets.
        Refused(Poke(video, Find(video, "saio") + 16, 0), "saio does not point at senc's first entry");
        Refused(Poke(video, Find(video, "saiz") + 13, 3), "saiz's sample count is not the trun's");
        Refused(Poke(video, Find(video, "senc") + 12, 5), "senc's sample count is not the trun's");
        Refused(Poke(video, Find(video, "senc") + 8, 0x00000003), "senc flags 0x3");
        Refused(Poke(audio, Find(audio, "saiz") + 12, 0x09000000), "saiz gives sample 0 9 bytes, senc 8");
        int firstSubsample = Find(video, "senc") + 16 + 8 + 2;
        Refused(Poke(video, firstSubsample, BinaryPrimitives.ReadUInt32BigEndian(video.AsSpan(firstSubsample)) + 1), "subsamples cover");
        Refused(Poke(video, Find(video, "tenc") + 12, 0x00000107), "default_Per_Sample_IV_Size 7");
        Refused(Poke(video, Find(video, "tenc") + 8, 0x02000000), "tenc version 2");
        Refused(Poke(cbcs, Find(cbcs, "tenc") + 32, 0x07000000), "a bad constant IV");
        Refused(Poke(video, Find(video, "sinf") + 4, 0x66726565), "no 'sinf'"); // 'free'
        Refused(Poke(video, Find(video, "encv") + 4, 0x61766331), "not encv or enca"); // 'avc1'
        Refused(Poke(video, Find(video, "senc"), 0x7FFFFFFF), "does not fit");
        Refused(video[..(Find(video, "senc") + 40)], "does not fit");
        Refused(Poke(video, Find(video, "frma"), 4), "does not fit");
    }

    [Fact]
    public void A_damaged_pssh_from_a_key_provider_is_refused()
    {
        var good = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [EncryptedCmafTests.Kid], [1, 2, 3]);
        ProtectionSystemHeader.Validate(good);
        Assert.Equal(good.Length, BinaryPrimitives.ReadInt32BigEndian(good));

        void Bad(byte[] box, string reason) =>
            Assert.Contains(reason, Assert.Throws<InvalidDataException>(() => ProtectionSystemHeader.Validate(box)).Message, StringComparison.Ordinal);
        Bad(good[..31], "at least 32 bytes");
        Bad(good[..^1], "size is not its length");
        Bad(Poke(good, 4, 0x66726565), "not a pssh box");
        Bad(Poke(good, 8, 0x02000000), "version 2");
        Bad(Poke(good, 28, 1000), "more KIDs than it holds");
        Bad(Poke(good, 48, 4), "DataSize is not what it holds");

        // The init segment refuses one before writing.
        using var encryptor = EncryptedCmafTests.Encryptor(clip.Audio, EncryptionScheme.Cenc);
        Assert.Throws<InvalidDataException>(() =>
            Broadcast.Packager.Cmaf.CmafWriter.WriteInitSegment(new System.Buffers.ArrayBufferWriter<byte>(), clip.Audio, 1,
                encryptor.Protection([good[..^1]])));
    }

    [Theory]
    [InlineData(EncryptionScheme.Cenc)]
    [InlineData(EncryptionScheme.Cbcs)]
    public void A_damaged_frame_is_encrypted_whole_and_the_rest_as_always(EncryptionScheme scheme)
    {
        using var encryptor = EncryptedCmafTests.Encryptor(clip.Video, scheme);
        var good = clip.VideoSamples[1];
        // A NAL unit length that runs past the sample: its structure cannot be read.
        var damaged = new byte[] { 0, 0, 9, 0, 0x41, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22 };
        var f = encryptor.Encrypt([good.ToCmaf(), new Broadcast.Packager.Cmaf.CmafSample(damaged, 3000, 0, false)], 0);
        Assert.Equal(1, encryptor.DamagedSamples);
        var entry = f.Entries[1];
        var subsample = Assert.Single(f.Subsamples.Slice(entry.FirstSubsample, entry.SubsampleCount).ToArray());
        Assert.Equal(damaged.Length, subsample.ClearBytes + (int)subsample.ProtectedBytes);
        Assert.True(subsample.ProtectedBytes >= 16);
        Assert.NotEqual(damaged, f.Samples[1].Data.ToArray());
        var iv = new byte[16];
        (scheme == EncryptionScheme.Cbcs ? EncryptedCmafTests.ConstantIv : entry.Iv).CopyTo(iv);
        var ivBytes = scheme == EncryptionScheme.Cbcs ? iv : iv[..8];
        Assert.Equal(damaged, CencTestDecryptor.Decrypt(f.Samples[1].Data.Span, Convert.FromHexString(EncryptedCmafTests.KeyHex), scheme, ivBytes,
            [subsample], scheme == EncryptionScheme.Cbcs ? 1 : 0, scheme == EncryptionScheme.Cbcs ? 9 : 0));
        Assert.True(f.Entries[0].SubsampleCount > 0); // the good frame before it mapped as always
    }
}
