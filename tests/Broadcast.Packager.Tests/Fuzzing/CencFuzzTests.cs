using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Tests.Cmaf;
using Broadcast.Packager.Tests.Cmaf.Encryption;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Fuzzing;

/// <summary>
/// Fuzzes what Common Encryption parses: the AVC subsample map (<see cref="NalSubsamples"/> over
/// <see cref="AvcSliceHeaders"/>, which reads the publisher's bitstream: a damaged sample must be refused with
/// <see cref="InvalidDataException"/>, and an accepted one gets subsamples covering it exactly), a pssh from a key provider
/// (<see cref="ProtectionSystemHeader.Validate"/>), the tests' own box reader over encrypted files, the decryptor, and a
/// key-rotated segment's sample groups (<see cref="FragmentKeys"/>) read and decrypted with both keys.
/// </summary>
[Trait("Kind", "Component")]
public class CencFuzzTests(FlvClipFixture clip, ITestOutputHelper output) : IClassFixture<FlvClipFixture>
{
    private void Check(FuzzReport report) => Check(report, output);

    internal static void Check(FuzzReport report, ITestOutputHelper output)
    {
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    /// <summary>
    /// A codec's subsample map (<see cref="NalSubsamples"/> over the slice headers <paramref name="headers"/> makes, with
    /// its NAL unit length size): a damaged sample is refused with <see cref="InvalidDataException"/>, and an accepted one
    /// gets subsamples covering it exactly.
    /// </summary>
    internal static FuzzReport SubsampleMap(string name, IReadOnlyList<byte[]> seeds, Func<(ISliceHeaders Headers, int LengthSize)> headers) =>
        FuzzRunner.Run(name, seeds, (input, random) =>
        {
            var (sliceHeaders, lengthSize) = headers();
            var subsamples = new List<Subsample>();
            try
            {
                NalSubsamples.Map(input, lengthSize, sliceHeaders, random.Chance(2) ? EncryptionScheme.Cenc : EncryptionScheme.Cbcs, subsamples);
            }
            catch (InvalidDataException)
            {
                return false;
            }
            if (subsamples.Sum(s => s.ClearBytes + (long)s.ProtectedBytes) != input.Length) throw new InvalidOperationException("subsamples do not cover the sample");
            return true;
        });

    [Fact]
    public void Avc_subsample_map()
    {
        // Small samples whole (P and B frames), and the parameter sets as samples of their own.
        var seeds = clip.VideoSamples.Where(s => s.Data.Length < 4096).Take(12).Select(s => s.Data).ToList();
        Check(SubsampleMap("avc subsamples", seeds, () => (AvcSliceHeaders.FromDecoderConfig(clip.Video.DecoderConfig.Span, out int lengthSize), lengthSize)));
    }

    [Fact]
    public void Pssh_from_a_key_provider()
    {
        var seeds = new List<byte[]>
        {
            ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [EncryptedCmafTests.Kid], [1, 2, 3]),
            ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId, [], []),
        };
        Check(FuzzRunner.Run("pssh", seeds, (input, _) =>
        {
            try
            {
                ProtectionSystemHeader.Validate(input);
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }));
    }

    [Fact]
    public void Encrypted_init_and_segment_read_back()
    {
        var seeds = new List<byte[]>
        {
            CencBoxReaderTests.Small(clip.Video, clip.VideoSamples.Skip(1).Where(s => s.Data.Length < 1500).ToList(), EncryptionScheme.Cenc, 3),
            CencBoxReaderTests.Small(clip.Video, clip.VideoSamples.Skip(1).Where(s => s.Data.Length < 1500).ToList(), EncryptionScheme.Cbcs, 3),
            CencBoxReaderTests.Small(clip.Audio, clip.AudioSamples, EncryptionScheme.Cenc, 6),
        };
        Check(FuzzRunner.Run("cenc boxes", seeds, (input, _) =>
        {
            try
            {
                var track = CencBoxReader.ReadInit(input);
                CencBoxReader.ReadSamples(input, track); // its moofs are found among the file's top-level boxes
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }));
    }

    /// <summary>
    /// The decryptor over damaged segments of a good init: decrypted, or refused with <see cref="InvalidDataException"/>,
    /// never another exception.
    /// </summary>
    [Fact]
    public void Encrypted_segment_decrypted()
    {
        var pairs = new[]
        {
            TrackDecryptorTests.Make(clip.Video, clip.VideoSamples, EncryptionScheme.Cenc, 3),
            TrackDecryptorTests.Make(clip.Video, clip.VideoSamples, EncryptionScheme.Cbcs, 3),
            TrackDecryptorTests.Make(clip.Audio, clip.AudioSamples, EncryptionScheme.Cenc, 4),
        };
        Check(FuzzRunner.Run("cenc decrypt", pairs.Select(p => p.Segment).ToList(), (input, random) =>
        {
            try
            {
                TrackDecryptorTests.Decrypt(pairs[random.Next(pairs.Length)], EncryptedCmafTests.Key, input);
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }));
    }

    /// <summary>
    /// Key rotation: damaged segments of the second key period (sbgp and sgpd of 'seig' in every traf, both keys' pssh in
    /// every moof) read by <see cref="FragmentKeys"/> and decrypted with both keys, or refused with
    /// <see cref="InvalidDataException"/>, never another exception.
    /// </summary>
    [Fact]
    public void Rotated_segment_read_and_decrypted()
    {
        var rotated = new[]
        {
            RotatedCmaf.Make(clip.Video, clip.VideoSamples, EncryptionScheme.Cenc, 2),
            RotatedCmaf.Make(clip.Video, clip.VideoSamples, EncryptionScheme.Cbcs, 2, atTrafEnd: true),
            RotatedCmaf.Make(clip.Audio, clip.AudioSamples, EncryptionScheme.Cenc, 3),
            RotatedCmaf.Make(clip.Audio, clip.AudioSamples, EncryptionScheme.Cbcs, 3),
        };
        Check(FuzzRunner.Run("cenc key rotation", rotated.Select(r => r.Segments[1]).ToList(), (input, random) =>
        {
            try
            {
                FragmentKeys.Read(input);
                rotated[random.Next(rotated.Length)].Decrypt(input);
                return true;
            }
            catch (InvalidDataException)
            {
                return false;
            }
        }));
    }
}
