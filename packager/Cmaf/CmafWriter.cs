using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Cmaf;

/// <summary>
/// Writes CMAF (ISO/IEC 23000-19) single-track files: the CMAF header (init segment) and CMAF fragments.
/// <code>
/// CMAF header                          media segment
/// ftyp  cmfc: iso6 cmfc                styp  cmfs: cmfs msdh
/// moov                                 moof
///   mvhd  timescale 1000                 mfhd  sequence_number
///   trak                                 traf
///     tkhd                                 tfhd  default-base-is-moof (+ default flags for audio)
///     mdia                                 tfdt  v1, 64-bit baseMediaDecodeTime
///       mdhd  track timescale              trun  offset, duration, size (+ flags, signed CTO for video)
///       hdlr  vide | soun                mdat
///       minf
///         vmhd | smhd
///         dinf/dref/url
///         stbl
///           stsd  avc1/avcC | hvc1/hvcC | av01/av1C (+pasp) | mp4a/esds
///           stts stsc stsz stco (empty)
///   mvex
///     trex
/// </code>
/// Sizes are known before writing (fragment) or patched after the children (header), so every box goes
/// straight into the output's span; only the sample payloads are copied, nothing is allocated per sample.
/// </summary>
public static class CmafWriter
{
    /// <summary>mvhd timescale: the movie header carries no samples, milliseconds is the conventional choice.</summary>
    public const uint MovieTimescale = 1000;

    /// <summary>Generous room for everything in a CMAF header except the codec configuration record.</summary>
    private const int InitSegmentFixedBound = 1024;

    /// <summary>
    /// ftyp + moov (mvhd, trak, mvex/trex) for one track. With <paramref name="protection"/> the sample entry is encv/enca
    /// with its sinf, and the moov ends with the protection's pssh boxes (ISO/IEC 23001-7 §8.1).
    /// </summary>
    public static void WriteInitSegment(IBufferWriter<byte> output, MediaTrack track, uint trackId = 1, TrackProtection? protection = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(track);
        if (trackId is 0 or uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(trackId), trackId, "A track ID is 1..2^32-2 (0 is reserved, next_track_ID must fit).");

        bool isVideo = track.Kind == MediaKind.Video;
        VisualSampleEntry visualEntry = default;
        AudioSampleEntry audioEntry = default;
        int entrySize;
        int width = 0, height = 0;
        switch (track)
        {
            case VideoTrack video:
                visualEntry = CreateVisualSampleEntry(video, protection);
                entrySize = visualEntry.Size;
                width = video.Width;
                height = video.Height;
                break;
            case AudioTrack audio:
                audioEntry = CreateAudioSampleEntry(audio, protection);
                entrySize = audioEntry.Size;
                break;
            default:
                throw new ArgumentException($"Unsupported track type {track.GetType().Name}.", nameof(track));
        }
        if (track.Timescale <= 0)
            throw new ArgumentException($"Track timescale must be positive, got {track.Timescale}.", nameof(track));

        protection?.Validate();
        int psshSize = protection?.SystemHeadersSize ?? 0;
        var writer = new BoxSpanWriter(output.GetSpan(InitSegmentFixedBound + entrySize + psshSize));
        FileTypeBox.CmafHeader.WriteTo(ref writer);

        int moov = writer.StartBox(FourCC.Moov);
        new MovieHeaderBox(MovieTimescale, trackId + 1).WriteTo(ref writer);

        int trak = writer.StartBox(FourCC.Trak);
        new TrackHeaderBox(trackId, !isVideo, width, height).WriteTo(ref writer);

        int mdia = writer.StartBox(FourCC.Mdia);
        new MediaHeaderBox((uint)track.Timescale).WriteTo(ref writer);
        (isVideo ? HandlerBox.Video : HandlerBox.Sound).WriteTo(ref writer);

        int minf = writer.StartBox(FourCC.Minf);
        if (isVideo) new VideoMediaHeaderBox().WriteTo(ref writer);
        else new SoundMediaHeaderBox().WriteTo(ref writer);
        new DataInformationBox().WriteTo(ref writer);

        int stbl = writer.StartBox(FourCC.Stbl);
        int stsd = writer.StartFullBox(FourCC.Stsd, 0, 0);
        writer.WriteUInt32(1); // entry_count: CMAF allows one sample description per track
        if (isVideo) visualEntry.WriteTo(ref writer);
        else audioEntry.WriteTo(ref writer);
        writer.EndBox(stsd);
        new EmptySampleTablesBoxes().WriteTo(ref writer);
        writer.EndBox(stbl);

        writer.EndBox(minf);
        writer.EndBox(mdia);
        writer.EndBox(trak);

        int mvex = writer.StartBox(FourCC.Mvex);
        new TrackExtendsBox(trackId).WriteTo(ref writer);
        writer.EndBox(mvex);
        protection?.WriteSystemHeaders(ref writer);
        writer.EndBox(moov);

        output.Advance(writer.Position);
    }

    /// <summary>A segment-type box (styp) that opens a media segment.</summary>
    public static void WriteSegmentType(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        FileTypeBox.CmafSegment.Write(output);
    }

    /// <summary>
    /// One CMAF fragment: moof (mfhd, traf: tfhd default-base-is-moof, tfdt, trun) + mdat. With
    /// <paramref name="encryption"/> the mdat holds its encrypted samples (which stand for <paramref name="samples"/>) and
    /// the traf ends with saiz, saio and senc; under a rotated key (<see cref="FragmentEncryption.Group"/>) sbgp and sgpd name
    /// the key before them, and the moof carries the encryption's pssh boxes before its traf.
    /// </summary>
    public static void WriteFragment(IBufferWriter<byte> output, uint sequenceNumber, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind, FragmentEncryption? encryption = null)
    {
        samples = Encrypted(samples, encryption);
        long payloadLength = ValidateFragment(output, trackId, baseMediaDecodeTime, samples, kind);
        WriteValidatedFragment(output, sequenceNumber, trackId, baseMediaDecodeTime, samples, kind, payloadLength, encryption);
    }

    /// <summary>styp followed by one fragment: a whole media segment.</summary>
    public static void WriteMediaSegment(IBufferWriter<byte> output, uint sequenceNumber, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind, FragmentEncryption? encryption = null)
    {
        samples = Encrypted(samples, encryption);
        // Validate before the styp goes out, so a rejected segment leaves nothing half-written in the output.
        long payloadLength = ValidateFragment(output, trackId, baseMediaDecodeTime, samples, kind);
        WriteSegmentType(output);
        WriteValidatedFragment(output, sequenceNumber, trackId, baseMediaDecodeTime, samples, kind, payloadLength, encryption);
    }

    private static ReadOnlySpan<CmafSample> Encrypted(ReadOnlySpan<CmafSample> samples, FragmentEncryption? encryption) =>
        encryption is null ? samples
        : encryption.Samples.Length == samples.Length ? encryption.Samples
        : throw new ArgumentException($"The encryption holds {encryption.Samples.Length} samples, not the fragment's {samples.Length}.",
            nameof(encryption));

    /// <summary>Checks a fragment's arguments; returns the total sample payload length.</summary>
    private static long ValidateFragment(IBufferWriter<byte> output, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (samples.IsEmpty) throw new ArgumentException("A CMAF fragment needs at least one sample.", nameof(samples));
        if (trackId == 0) throw new ArgumentOutOfRangeException(nameof(trackId), trackId, "Track ID 0 is reserved.");
        if (baseMediaDecodeTime < 0)
            throw new ArgumentOutOfRangeException(nameof(baseMediaDecodeTime), baseMediaDecodeTime, "baseMediaDecodeTime cannot be negative.");
        if (kind is not (MediaKind.Video or MediaKind.Audio))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Media kind must be Video or Audio.");

        long payloadLength = 0;
        for (int i = 0; i < samples.Length; i++)
        {
            int length = samples[i].Data.Length;
            if (length == 0) throw new ArgumentException($"Sample {i} has no data.", nameof(samples));
            payloadLength += length;
        }
        return payloadLength;
    }

    private static void WriteValidatedFragment(IBufferWriter<byte> output, uint sequenceNumber, uint trackId, long baseMediaDecodeTime,
        ReadOnlySpan<CmafSample> samples, MediaKind kind, long payloadLength, FragmentEncryption? encryption)
    {
        bool isVideo = kind == MediaKind.Video;
        // Audio frames are all sync samples (ISO/IEC 14496-12 §8.8.3.1, depends_on = 2): say it once in tfhd
        // instead of in every trun entry. Video keeps per-sample flags: fragments and LL parts may start mid-GOP.
        var tfhd = new TrackFragmentHeaderBox(trackId, isVideo ? null : SampleFlags.Sync);
        int trunSize = TrackRunBox.SizeFor(samples.Length, isVideo);
        int encryptionSize = encryption is null ? 0 : SampleEncryptionBoxes.Size(encryption);
        int groupSize = encryption?.Group is { } group ? SampleEncryptionGroup.Size(group) : 0;
        int systemHeadersSize = 0;
        if (encryption is not null)
            foreach (var pssh in encryption.SystemHeaders) systemHeadersSize = checked(systemHeadersSize + pssh.Length);
        int trafSize = checked(8 + tfhd.Size + TrackFragmentDecodeTimeBox.Size + trunSize + groupSize + encryptionSize);
        int moofSize = checked(8 + MovieFragmentHeaderBox.Size + systemHeadersSize + trafSize);
        // §8.1.1/§4.2: a 64-bit largesize only when the 32-bit size cannot hold the box.
        bool largeMdat = payloadLength + 8 > uint.MaxValue;
        int mdatHeaderSize = largeMdat ? 16 : 8;
        int dataOffset = checked(moofSize + mdatHeaderSize);

        var writer = new BoxSpanWriter(output.GetSpan(dataOffset));
        writer.WriteBoxHeader(moofSize, FourCC.Moof);
        new MovieFragmentHeaderBox(sequenceNumber).WriteTo(ref writer);
        // ISO/IEC 23001-7 §8.1: pssh boxes may stand in a moof, where a player meets a rotated key's before its samples.
        if (encryption is not null)
            foreach (var pssh in encryption.SystemHeaders) writer.WriteBytes(pssh.Span);
        writer.WriteBoxHeader(trafSize, FourCC.Traf);
        tfhd.WriteTo(ref writer);
        new TrackFragmentDecodeTimeBox((ulong)baseMediaDecodeTime).WriteTo(ref writer);
        new TrackRunBox(samples, dataOffset, isVideo).WriteTo(ref writer);
        if (encryption?.Group is { } keyGroup) SampleEncryptionGroup.WriteTo(ref writer, (uint)samples.Length, keyGroup);
        if (encryption is not null) SampleEncryptionBoxes.WriteTo(ref writer, encryption, writer.Position);
        if (largeMdat)
        {
            writer.WriteUInt32(1);
            writer.WriteUInt32(FourCC.Mdat);
            writer.WriteUInt64((ulong)(payloadLength + 16));
        }
        else
        {
            writer.WriteBoxHeader((int)(uint)(payloadLength + 8), FourCC.Mdat);
        }
        output.Advance(writer.Position);

        foreach (ref readonly var sample in samples) output.Write(sample.Data.Span);
    }

    private static VisualSampleEntry CreateVisualSampleEntry(VideoTrack video, TrackProtection? protection)
    {
        var config = video.DecoderConfig;
        (uint entryType, uint configType, int minLength, byte firstByte, string recordName) = video.Codec switch
        {
            // configurationVersion = 1 (ISO/IEC 14496-15 §5.3.2.1.2 / §8.3.2.1.2); the fixed parts are 7 and 23 bytes.
            Codec.H264 => (FourCC.Avc1, FourCC.AvcC, 7, (byte)1, "AVCDecoderConfigurationRecord"),
            Codec.H265 => (FourCC.Hvc1, FourCC.HvcC, 23, (byte)1, "HEVCDecoderConfigurationRecord"),
            // marker = 1, version = 1 (AV1 Codec ISO Media File Format Binding §2.3.3).
            Codec.Av1 => (FourCC.Av01, FourCC.Av1C, 4, (byte)0x81, "AV1CodecConfigurationRecord"),
            _ => throw new ArgumentException($"Video codec {video.Codec} cannot be written to CMAF (H264, H265, Av1 are supported).", "track"),
        };
        if (config.IsEmpty)
            throw new ArgumentException($"The {video.Codec} track has an empty DecoderConfig; an {recordName} is required.", "track");
        if (config.Length < minLength || config.Span[0] != firstByte)
            throw new ArgumentException(
                $"The {video.Codec} track's DecoderConfig is not an {recordName} (length {config.Length}, first byte 0x{config.Span[0]:X2}).",
                "track");
        if (video.Width is <= 0 or > ushort.MaxValue || video.Height is <= 0 or > ushort.MaxValue)
            throw new ArgumentException($"Video size {video.Width}x{video.Height} is out of range (1..65535).", "track");
        if (protection is not null && protection.OriginalFormat != entryType)
            throw new ArgumentException($"The protection's original format is not the track's '{FourCC.ToString(entryType)}'.", nameof(protection));
        return new VisualSampleEntry(entryType, configType, config, video.Width, video.Height, protection);
    }

    private static AudioSampleEntry CreateAudioSampleEntry(AudioTrack audio, TrackProtection? protection)
    {
        if (audio.Codec != Codec.Aac)
            throw new ArgumentException($"Audio codec {audio.Codec} cannot be written to CMAF (Aac is supported).", "track");
        // An AudioSpecificConfig is at least 2 bytes: object type (5 bits), frequency index (4), channels (4).
        if (audio.DecoderConfig.Length < 2)
            throw new ArgumentException(
                $"The AAC track's DecoderConfig must be an AudioSpecificConfig of at least 2 bytes, got {audio.DecoderConfig.Length}.", "track");
        if (audio.Channels is <= 0 or > ushort.MaxValue)
            throw new ArgumentException($"Channel count {audio.Channels} is out of range.", "track");
        if (audio.SampleRate is <= 0 or > ushort.MaxValue)
            throw new ArgumentException($"Sample rate {audio.SampleRate} Hz does not fit an mp4a sample entry (1..65535).", "track");
        if (protection is not null && protection.OriginalFormat != FourCC.Mp4a)
            throw new ArgumentException("The protection's original format is not the track's 'mp4a'.", nameof(protection));
        return new AudioSampleEntry(audio.Channels, audio.SampleRate, new EsdsBox(audio.DecoderConfig), protection);
    }
}
