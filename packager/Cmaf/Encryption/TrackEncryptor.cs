using System.Security.Cryptography;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>One sample's auxiliary information (ISO/IEC 23001-7 §7.2.2): its IV and its run of subsamples, if any.</summary>
public readonly record struct SampleEncryptionEntry(InitializationVector Iv, int FirstSubsample, int SubsampleCount);

/// <summary>
/// A fragment's samples encrypted, with what its senc, saiz and saio say about them. Owned and reused by its
/// <see cref="TrackEncryptor"/>: valid until that encryptor's next <see cref="TrackEncryptor.Encrypt"/>.
/// </summary>
public sealed class FragmentEncryption
{
    internal readonly List<CmafSample> EncryptedSamples = [];
    internal readonly List<SampleEncryptionEntry> EntryList = [];
    internal readonly List<Subsample> SubsampleList = [];

    /// <summary>senc's Per_Sample_IV_Size: 8 or 16, or 0 where the track's constant IV applies (§8.2.1).</summary>
    public int PerSampleIvSize { get; internal set; }

    /// <summary>Whether senc carries subsamples (senc flags 0x2, §7.2.1).</summary>
    public bool UsesSubsamples { get; internal set; }

    public ReadOnlySpan<CmafSample> Samples => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(EncryptedSamples);

    public ReadOnlySpan<SampleEncryptionEntry> Entries => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(EntryList);

    public ReadOnlySpan<Subsample> Subsamples => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(SubsampleList);

    /// <summary>Bytes of sample auxiliary information for one sample (saiz, §8.7.8): its IV and its subsample table.</summary>
    public int InfoSize(in SampleEncryptionEntry entry) => PerSampleIvSize + (UsesSubsamples ? 2 + 6 * entry.SubsampleCount : 0);

    /// <summary>Whether the fragment carries auxiliary information at all: with a constant IV and no subsamples there is none.</summary>
    public bool HasAuxiliaryInformation => PerSampleIvSize > 0 || UsesSubsamples;

    /// <summary>The 'seig' group entry naming the samples' key when it is not the init segment's default_KID (a rotated key), or null.</summary>
    public SampleEncryptionGroupEntry? Group { get; internal set; }

    /// <summary>Whole pssh boxes the fragment's moof carries (ISO/IEC 23001-7 §8.1: a pssh may stand in a moof): a rotated
    /// broadcast's current and next keys, so a player asks for a key before its samples come.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> SystemHeaders { get; internal set; } = [];
}

/// <summary>
/// Encrypts one track's samples under one content key. 'cenc': AES-CTR, an 8-byte IV per sample, subsamples on video.
/// 'cbcs': AES-CBC with the constant IV, the 1:9 pattern on video subsamples and whole blocks of the whole sample on audio
/// (§10.4). Video is AVC or HEVC, whose NAL unit and slice headers stay clear (<see cref="NalSubsamples"/>); AV1 is
/// refused (its OBU subsamples are not mapped). The IV of a sample is a function
/// of its place (segment number, index in the segment), so a segment written whole and as its parts has the same bytes.
/// </summary>
public sealed class TrackEncryptor : IDisposable
{
    /// <summary>The 'cbcs' video pattern (§10.4: 1 encrypted block in 10, recommended and what FairPlay requires).</summary>
    public const int CbcsCryptBlocks = 1, CbcsSkipBlocks = 9;

    private readonly AesBlocks _aes;
    private readonly ISliceHeaders? _sliceHeaders;
    private readonly int _nalLengthSize;
    private readonly ulong _ivSeed;
    private readonly uint _originalFormat;
    private readonly FragmentEncryption _fragment = new();
    private byte[] _payload = new byte[64 * 1024];
    private SampleEncryptionGroupEntry? _group;

    /// <param name="ivSeed">For 'cenc': the high bits every per-sample IV starts from (random per track and key).</param>
    /// <param name="constantIv">For 'cbcs': the track's constant IV (16 bytes).</param>
    /// <param name="defaultKeyId">The KID the init segment's tenc names (a rotated broadcast's first key), when it is not
    /// <paramref name="key"/>'s: every fragment then names its key in a 'seig' group (<see cref="SampleEncryptionGroup"/>).</param>
    public TrackEncryptor(ContentKey key, EncryptionScheme scheme, MediaTrack track, ulong ivSeed, InitializationVector? constantIv = null,
        KeyId? defaultKeyId = null)
    {
        ArgumentNullException.ThrowIfNull(track);
        if (scheme is not (EncryptionScheme.Cenc or EncryptionScheme.Cbcs))
            throw new ArgumentException($"A track encryptor writes Common Encryption ('cenc' or 'cbcs'), not {scheme}.", nameof(scheme));
        Scheme = scheme;
        IsVideo = track.Kind == MediaKind.Video;
        _originalFormat = track.Codec switch
        {
            Codec.H264 => FourCC.Avc1,
            // The sample entry the clear track has: 'hvc1' as the packager writes it, 'hev1' for a clear init read back.
            Codec.H265 => track.CodecString.StartsWith("hev1", StringComparison.Ordinal) ? FourCC.Hev1 : FourCC.Hvc1,
            Codec.Aac => FourCC.Mp4a,
            _ => throw new NotSupportedException(
                $"Encrypting {track.Codec} is not supported yet (AVC and HEVC, whose slice headers are parsed, and AAC are)."),
        };
        if (IsVideo)
        {
            _sliceHeaders = track.Codec == Codec.H265
                ? HevcSliceHeaders.FromDecoderConfig(track.DecoderConfig.Span, out _nalLengthSize)
                : AvcSliceHeaders.FromDecoderConfig(track.DecoderConfig.Span, out _nalLengthSize);
        }
        if (scheme == EncryptionScheme.Cbcs && constantIv is not { Size: 16 })
            throw new ArgumentException("'cbcs' takes a 16-byte constant IV.", nameof(constantIv));
        _ivSeed = ivSeed;
        ConstantIv = scheme == EncryptionScheme.Cbcs ? constantIv : null;
        KeyId = key.Id;
        DefaultKeyId = defaultKeyId ?? key.Id;
        Span<byte> raw = stackalloc byte[16];
        key.CopyKeyTo(raw);
        _aes = new AesBlocks(raw);
        CryptographicOperations.ZeroMemory(raw);
    }

    public EncryptionScheme Scheme { get; }

    public KeyId KeyId { get; }

    /// <summary>The init segment's tenc default_KID: <see cref="KeyId"/>, or a rotated broadcast's first key.</summary>
    public KeyId DefaultKeyId { get; }

    /// <summary>The pssh boxes every fragment's moof carries from now on (none by default): set at each segment of a rotated
    /// broadcast by its writer.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> FragmentSystemHeaders { get; set; } = [];

    public bool IsVideo { get; }

    public InitializationVector? ConstantIv { get; }

    /// <summary>What the track's sinf says (§8.2), for the init segment, with <paramref name="systemHeaders"/> as its pssh boxes.</summary>
    public TrackProtection Protection(IReadOnlyList<ReadOnlyMemory<byte>>? systemHeaders = null)
    {
        var protection = Scheme == EncryptionScheme.Cenc
            ? new TrackProtection(_originalFormat, Scheme, DefaultKeyId, 8, 0, 0, null)
            : new TrackProtection(_originalFormat, Scheme, DefaultKeyId, 0, IsVideo ? CbcsCryptBlocks : 0, IsVideo ? CbcsSkipBlocks : 0, ConstantIv);
        return protection with { SystemHeaders = systemHeaders ?? [] };
    }

    /// <summary>The 'seig' entry of this encryptor's key: what tenc would say, with its own KID (§6).</summary>
    private SampleEncryptionGroupEntry Group() => SampleEncryptionGroupEntry.Of(Protection() with { KeyId = KeyId });

    /// <summary>The IV of the sample at <paramref name="place"/> (see <see cref="Place"/>): distinct places give distinct IVs.</summary>
    public InitializationVector IvAt(ulong place) => new((UInt128)unchecked(_ivSeed + place) << 64, 8);

    /// <summary>
    /// The place of sample <paramref name="index"/> of part <paramref name="partIndex"/> (0 for a segment without parts)
    /// of segment <paramref name="segmentNumber"/>: 16 bits for the sample, 8 for the part, the rest for the segment. A
    /// segment without parts may use 24 bits for its samples, having no part 1.
    /// </summary>
    public static ulong Place(long segmentNumber, int partIndex, int index)
    {
        if (partIndex is < 0 or > byte.MaxValue) throw new ArgumentOutOfRangeException(nameof(partIndex), partIndex, "A part index is 0..255.");
        if (index < 0 || index >= (partIndex == 0 ? 1 << 24 : 1 << 16))
            throw new ArgumentOutOfRangeException(nameof(index), index, "Too many samples.");
        return unchecked(((ulong)segmentNumber << 24) + ((ulong)partIndex << 16) + (uint)index);
    }

    /// <summary>Encrypts copies of <paramref name="samples"/>, the first at <paramref name="firstPlace"/>.</summary>
    public FragmentEncryption Encrypt(ReadOnlySpan<CmafSample> samples, ulong firstPlace)
    {
        var f = _fragment;
        f.EncryptedSamples.Clear();
        f.EntryList.Clear();
        f.SubsampleList.Clear();
        f.PerSampleIvSize = Scheme == EncryptionScheme.Cenc ? 8 : 0;
        f.UsesSubsamples = IsVideo;
        f.Group = KeyId == DefaultKeyId ? null : _group ??= Group();
        f.SystemHeaders = FragmentSystemHeaders;
        long total = 0;
        foreach (ref readonly var s in samples) total += s.Data.Length;
        if (total > Array.MaxLength) throw new ArgumentException("A fragment's samples are too large to encrypt.", nameof(samples));
        if (_payload.Length < total) _payload = new byte[(int)Math.Min(Array.MaxLength, Math.Max(total, _payload.Length * 2L))];
        int at = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            var sample = samples[i];
            var data = _payload.AsSpan(at, sample.Data.Length);
            sample.Data.Span.CopyTo(data);
            int first = f.SubsampleList.Count;
            if (IsVideo) MapVideo(data, f.SubsampleList, first);
            var subsamples = f.Subsamples[first..];
            InitializationVector iv;
            if (Scheme == EncryptionScheme.Cenc)
            {
                iv = IvAt(unchecked(firstPlace + (ulong)i));
                SampleCipher.TransformCtr(_aes, iv, data, subsamples);
            }
            else
            {
                iv = ConstantIv!.Value;
                SampleCipher.EncryptCbcPattern(_aes, iv, data, subsamples, IsVideo ? CbcsCryptBlocks : 0, IsVideo ? CbcsSkipBlocks : 0);
            }
            f.EntryList.Add(new SampleEncryptionEntry(iv, first, subsamples.Length));
            f.EncryptedSamples.Add(sample with { Data = _payload.AsMemory(at, sample.Data.Length) });
            at += sample.Data.Length;
        }
        return f;
    }

    /// <summary>
    /// Samples whose NAL units or slice headers could not be read (a publisher's damaged frame), encrypted whole instead:
    /// their bytes stay protected and decrypt to what was sent, but their headers are not left clear.
    /// </summary>
    public long DamagedSamples { get; private set; }

    private void MapVideo(ReadOnlySpan<byte> sample, List<Subsample> into, int first)
    {
        try
        {
            NalSubsamples.Map(sample, _nalLengthSize, _sliceHeaders!, Scheme, into);
        }
        catch (InvalidDataException)
        {
            // One damaged frame must not stop the broadcast, nor go out in the clear.
            into.RemoveRange(first, into.Count - first);
            NalSubsamples.Whole(sample.Length, Scheme, into);
            DamagedSamples++;
        }
    }

    public void Dispose() => _aes.Dispose();

    public override string ToString() => $"TrackEncryptor {Scheme} {KeyId}";
}
