using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager.Cmaf.Boxes;
using static Broadcast.Packager.Cmaf.CmafReader;

namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// A single-track init segment's protection read back and changed: what its sample entry's sinf says (ISO/IEC 23001-7
/// §8.2, ISO/IEC 14496-12 §8.12: frma, schm, schi/tenc) with the moov's pssh boxes (§8.1); the init made clear for a
/// reader without the key system (ffmpeg cutting a clip's ends); and a clear init protected again with the same key,
/// scheme and systems. What <see cref="CmafWriter.WriteInitSegment"/> writes with a protection is what this reads.
/// <para>
/// Its contract for damaged input is <see cref="CmafReader"/>'s: <see cref="InvalidDataException"/> saying what was wrong.
/// </para>
/// </summary>
public static class ProtectedInit
{
    /// <summary>Where the track's one sample entry is, and the boxes around it (outermost first: moov, trak, mdia, minf, stbl, stsd).</summary>
    private readonly record struct EntryPlace(Box Moov, Box[] Ancestors, Box Entry, int ChildrenAt, bool Video);

    /// <summary>The protection the track's sample entry declares (an encv or enca with its sinf), or null for a clear track.</summary>
    public static TrackProtection? Read(ReadOnlySpan<byte> init)
    {
        var place = Locate(init);
        uint type = place.Entry.Type;
        if (type is not (TrackProtection.Encv or TrackProtection.Enca)) return null;
        var sinf = Child(init, place.ChildrenAt, place.Entry.End, TrackProtection.Sinf)
            ?? throw new InvalidDataException("an encrypted sample entry has no sinf");
        var frma = Child(init, sinf.Body, sinf.End, TrackProtection.Frma) ?? throw new InvalidDataException("the sinf has no frma");
        var schm = Child(init, sinf.Body, sinf.End, TrackProtection.Schm) ?? throw new InvalidDataException("the sinf has no schm");
        var scheme = U32(init, schm.Body + 4, schm.End) switch
        {
            TrackProtection.CencScheme => EncryptionScheme.Cenc,
            TrackProtection.CbcsScheme => EncryptionScheme.Cbcs,
            uint other => throw new InvalidDataException($"the scheme '{FourCC.ToString(other)}' is not read (cenc and cbcs are)"),
        };
        var schi = Child(init, sinf.Body, sinf.End, TrackProtection.Schi) ?? throw new InvalidDataException("the sinf has no schi");
        var tenc = Child(init, schi.Body, schi.End, TrackProtection.Tenc) ?? throw new InvalidDataException("the schi has no tenc");
        // §8.2.2: version, flags; reserved; pattern (version 1) or reserved; isProtected; Per_Sample_IV_Size; KID; constant IV.
        byte version = Version(init, tenc);
        byte pattern = Slice(init, tenc.Body + 5, 1, tenc.End)[0];
        if (Slice(init, tenc.Body + 6, 1, tenc.End)[0] != 1) throw new InvalidDataException("the tenc says the track is not protected");
        int ivSize = Slice(init, tenc.Body + 7, 1, tenc.End)[0];
        if (ivSize is not (0 or 8 or 16)) throw new InvalidDataException($"the tenc's Per_Sample_IV_Size is {ivSize}, not 0, 8 or 16");
        var kid = KeyId.FromBytes(Slice(init, tenc.Body + 8, 16, tenc.End));
        InitializationVector? constant = null;
        if (ivSize == 0)
        {
            int size = Slice(init, tenc.Body + 24, 1, tenc.End)[0];
            if (size is not (8 or 16)) throw new InvalidDataException($"the tenc's constant IV is {size} bytes, not 8 or 16");
            constant = InitializationVector.FromBytes(Slice(init, tenc.Body + 25, size, tenc.End));
        }
        var systems = new List<ReadOnlyMemory<byte>>();
        for (int at = place.Moov.Body; at < place.Moov.End;)
        {
            var box = BoxAt(init, at, place.Moov.End);
            at = box.End;
            if (box.Type != TrackProtection.Pssh) continue;
            var pssh = init[box.Start..box.End].ToArray();
            ProtectionSystemHeader.Validate(pssh);
            systems.Add(pssh);
        }
        return new TrackProtection(U32(init, frma.Body, frma.End), scheme, kid, ivSize,
            version == 1 ? pattern >> 4 : 0, version == 1 ? pattern & 0xF : 0, constant) { SystemHeaders = systems };
    }

    /// <summary>
    /// A copy of a protected <paramref name="init"/> that a reader without the key system takes for a clear track: the
    /// sample entry is its original format again, its sinf and the moov's pssh boxes become free boxes of the same size
    /// (§8.1.2), so no other box moves. Its segments must be decrypted too (<see cref="TrackDecryptor"/>).
    /// </summary>
    public static byte[] Clear(ReadOnlySpan<byte> init)
    {
        var protection = Read(init) ?? throw new InvalidDataException("the init segment is not protected");
        var place = Locate(init);
        var copy = init.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(place.Entry.Start + 4), protection.OriginalFormat);
        var sinf = Child(init, place.ChildrenAt, place.Entry.End, TrackProtection.Sinf)!.Value;
        BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(sinf.Start + 4), Free);
        for (int at = place.Moov.Body; at < place.Moov.End;)
        {
            var box = BoxAt(init, at, place.Moov.End);
            at = box.End;
            if (box.Type == TrackProtection.Pssh) BinaryPrimitives.WriteUInt32BigEndian(copy.AsSpan(box.Start + 4), Free);
        }
        return copy;
    }

    /// <summary>
    /// A copy of the clear <paramref name="init"/> protected as <paramref name="protection"/> says: its sample entry becomes
    /// encv or enca and ends with the sinf (whose original format must be the entry's), the moov ends with the protection's
    /// pssh boxes, and every box around them grows by what was added.
    /// </summary>
    public static byte[] Protect(ReadOnlySpan<byte> init, TrackProtection protection)
    {
        ArgumentNullException.ThrowIfNull(protection);
        protection.Validate();
        var place = Locate(init);
        if (place.Entry.Type != protection.OriginalFormat)
            throw new ArgumentException($"The init segment's sample entry is '{FourCC.ToString(place.Entry.Type)}', not the protection's " +
                $"'{FourCC.ToString(protection.OriginalFormat)}'.", nameof(protection));
        foreach (var box in place.Ancestors.Append(place.Entry))
            if (box.Body - box.Start != 8) throw new InvalidDataException("a box around the sample entry has a 64-bit size");
        var sinf = new byte[protection.SinfSize];
        var writer = new BoxSpanWriter(sinf);
        protection.WriteSinf(ref writer);
        byte[] pssh = [.. protection.SystemHeaders.SelectMany(h => h.ToArray())];
        var output = new byte[init.Length + sinf.Length + pssh.Length];
        int entryEnd = place.Entry.End, moovEnd = place.Moov.End;
        init[..entryEnd].CopyTo(output);
        sinf.CopyTo(output, entryEnd);
        init[entryEnd..moovEnd].CopyTo(output.AsSpan(entryEnd + sinf.Length));
        pssh.CopyTo(output, moovEnd + sinf.Length);
        init[moovEnd..].CopyTo(output.AsSpan(moovEnd + sinf.Length + pssh.Length));
        foreach (var box in place.Ancestors.Append(place.Entry))
        {
            int grown = box.Size() + sinf.Length + (box.Start == place.Moov.Start ? pssh.Length : 0);
            BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(box.Start), (uint)grown);
        }
        BinaryPrimitives.WriteUInt32BigEndian(output.AsSpan(place.Entry.Start + 4), place.Video ? TrackProtection.Encv : TrackProtection.Enca);
        return output;
    }

    /// <summary>
    /// The track a clear init segment heads as the track encryptor needs it: AVC with its avcC or HEVC with its hvcC (the
    /// slice headers are read through their parameter sets; the codec string is the sample entry's type, which the
    /// encryptor's original format keeps), or AAC.
    /// </summary>
    public static MediaTrack TrackOf(ReadOnlySpan<byte> init)
    {
        var place = Locate(init);
        return place.Entry.Type switch
        {
            FourCC.Avc1 => new VideoTrack(Codec.H264, Configuration(init, place, FourCC.AvcC), "avc1", 0, 0),
            FourCC.Hvc1 or FourCC.Hev1 => new VideoTrack(Codec.H265, Configuration(init, place, FourCC.HvcC), FourCC.ToString(place.Entry.Type), 0, 0),
            FourCC.Mp4a => new AudioTrack(Codec.Aac, ReadOnlyMemory<byte>.Empty, "mp4a", 0, 0),
            uint other => throw new NotSupportedException(
                $"Encrypting a '{FourCC.ToString(other)}' track is not supported yet (AVC and HEVC, whose slice headers are parsed, and AAC are)."),
        };
    }

    /// <summary>The body of the sample entry's codec configuration box (avcC, hvcC).</summary>
    private static byte[] Configuration(ReadOnlySpan<byte> init, EntryPlace place, uint type) =>
        Child(init, place.ChildrenAt, place.Entry.End, type) is { } box ? init[box.Body..box.End].ToArray()
            : throw new InvalidDataException($"a '{FourCC.ToString(place.Entry.Type)}' sample entry has no {FourCC.ToString(type)}");

    private static int Size(this Box box) => box.End - box.Start;

    private static EntryPlace Locate(ReadOnlySpan<byte> init)
    {
        var moov = Child(init, 0, init.Length, FourCC.Moov) ?? throw new InvalidDataException("the init segment has no moov");
        var trak = Child(init, moov.Body, moov.End, FourCC.Trak) ?? throw new InvalidDataException("the init segment has no trak");
        var mdia = Child(init, trak.Body, trak.End, FourCC.Mdia) ?? throw new InvalidDataException("the track has no mdia");
        var minf = Child(init, mdia.Body, mdia.End, FourCC.Minf) ?? throw new InvalidDataException("the track has no minf");
        var stbl = Child(init, minf.Body, minf.End, FourCC.Stbl) ?? throw new InvalidDataException("the track has no stbl");
        var stsd = Child(init, stbl.Body, stbl.End, FourCC.Stsd) ?? throw new InvalidDataException("the track has no stsd");
        if (U32(init, stsd.Body + 4, stsd.End) != 1) throw new InvalidDataException("the stsd does not hold exactly one sample entry");
        var entry = BoxAt(init, stsd.Body + 8, stsd.End);
        bool video = entry.Type is TrackProtection.Encv or FourCC.Avc1 or FourCC.Hvc1 or FourCC.Hev1 or FourCC.Av01 || Child(init, mdia.Body, mdia.End,
            FourCC.Hdlr) is { } hdlr && U32(init, hdlr.Body + 8, hdlr.End) == FourCC.Vide;
        // §12.1.3 VisualSampleEntry: 8 bytes of SampleEntry, then 70 of its own; §12.2.3 AudioSampleEntry: 8, then 20 (a
        // version 1 QuickTime sound entry 16 more, version 2 36 more).
        int children = entry.Body + (video ? 78 : 28 + BinaryPrimitives.ReadUInt16BigEndian(Slice(init, entry.Body + 8, 2, entry.End)) switch
        {
            0 => 0,
            1 => 16,
            2 => 36,
            ushort v => throw new InvalidDataException($"an audio sample entry of version {v}"),
        });
        if (children > entry.End) throw new InvalidDataException("the sample entry is shorter than its fields");
        return new EntryPlace(moov, [moov, trak, mdia, minf, stbl, stsd], entry, children, video);
    }
}
