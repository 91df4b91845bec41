using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// A key-rotated track as the packager's writer is to store it (docs/protection.md): the init names the first key, A
/// (<see cref="EncryptedCmafTests.Key"/>) with its pssh; the first segment's two fragments are under A with no sample
/// group; the second segment's two are under B, each traf with an sbgp and sgpd of 'seig' naming B (after its trun, or
/// at the traf's end) and each moof with A's and B's pssh. Both segments' clear samples come with them.
/// </summary>
internal sealed record RotatedCmaf(byte[] Init, byte[][] Segments, CmafSample[][] Clear, SampleEncryptionGroupEntry GroupB)
{
    internal static readonly KeyId KidB = KeyId.FromBytes(Convert.FromHexString("fedcba9876543210fedcba9876543210"));
    internal static readonly ContentKey KeyB = new(KidB, Convert.FromHexString("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"));
    internal static readonly InitializationVector ConstantIvB = InitializationVector.FromBytes(Convert.FromHexString("0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
    internal static readonly byte[] PsshA = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [EncryptedCmafTests.Kid], []);
    internal static readonly byte[] PsshB = ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [KidB], []);

    /// <summary>Both keys, as a key store answers them.</summary>
    internal static ContentKey? Keys(KeyId kid) => kid == EncryptedCmafTests.Kid ? EncryptedCmafTests.Key : kid == KidB ? KeyB : null;

    internal static TrackEncryptor EncryptorB(MediaTrack track, EncryptionScheme scheme) =>
        new(KeyB, scheme, track, 0x0102030405060708UL, scheme == EncryptionScheme.Cbcs ? ConstantIvB : null);

    /// <summary>The sbgp and sgpd of a traf of <paramref name="samples"/> samples under <paramref name="entry"/>.</summary>
    internal static byte[] Groups(uint samples, SampleEncryptionGroupEntry entry)
    {
        var output = new ArrayBufferWriter<byte>();
        SampleEncryptionGroup.Write(output, samples, entry);
        return output.WrittenSpan.ToArray();
    }

    /// <param name="perFragment">Samples in each of the four fragments.</param>
    internal static RotatedCmaf Make(MediaTrack track, IReadOnlyList<ExpectedSample> source, EncryptionScheme scheme, int perFragment = 3,
        bool atTrafEnd = false)
    {
        var samples = source.Take(4 * perFragment).Select((s, i) => s.ToCmaf() with { IsSync = s.IsSync || i == 0 }).ToArray();
        using var a = EncryptedCmafTests.Encryptor(track, scheme);
        using var b = EncryptorB(track, scheme);
        var init = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(init, track, 1, a.Protection([PsshA]));
        var groupB = SampleEncryptionGroupEntry.Of(b.Protection());
        byte[] Segment(long number, TrackEncryptor encryptor)
        {
            var output = new ArrayBufferWriter<byte>();
            CmafWriter.WriteSegmentType(output);
            for (int part = 0; part < 2; part++)
            {
                int first = (int)(2 * (number - 1) + part) * perFragment;
                var fragment = samples[first..(first + perFragment)];
                CmafWriter.WriteFragment(output, (uint)(first + 1), 1, source[first].Dts, fragment, track.Kind,
                    encryptor.Encrypt(fragment, TrackEncryptor.Place(number, part + 1, 0)));
            }
            var bytes = output.WrittenSpan.ToArray();
            return encryptor == a ? bytes : CmafSplice.Insert(bytes, n => Groups(n, groupB), [.. PsshA, .. PsshB], atTrafEnd);
        }
        return new RotatedCmaf(init.WrittenSpan.ToArray(), [Segment(1, a), Segment(2, b)], [samples[..(2 * perFragment)], samples[(2 * perFragment)..]],
            groupB);
    }

    /// <summary>A segment's samples decrypted with both keys.</summary>
    internal IReadOnlyList<CmafReadSample> Decrypt(byte[] segment, Func<KeyId, ContentKey?>? keys = null)
    {
        var protection = ProtectedInit.Read(Init) ?? throw new InvalidDataException("not protected");
        using var decryptor = new TrackDecryptor(keys ?? Keys, protection);
        var header = CmafReader.ReadInit(Init);
        return CmafReader.ReadSamples(decryptor.Decrypt(segment, header), header);
    }
}
