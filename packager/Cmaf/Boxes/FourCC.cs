namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// Four-character codes (ISO/IEC 14496-12 §4.2 box types, handler types and brands) as big-endian
/// integers, so writing one is a single <c>WriteUInt32BigEndian</c> and comparing one is an integer compare.
/// </summary>
public static class FourCC
{
    public const uint Ftyp = 0x66747970; // 'ftyp'
    public const uint Styp = 0x73747970; // 'styp'
    public const uint Moov = 0x6D6F6F76; // 'moov'
    public const uint Mvhd = 0x6D766864; // 'mvhd'
    public const uint Trak = 0x7472616B; // 'trak'
    public const uint Tkhd = 0x746B6864; // 'tkhd'
    public const uint Mdia = 0x6D646961; // 'mdia'
    public const uint Mdhd = 0x6D646864; // 'mdhd'
    public const uint Hdlr = 0x68646C72; // 'hdlr'
    public const uint Minf = 0x6D696E66; // 'minf'
    public const uint Vmhd = 0x766D6864; // 'vmhd'
    public const uint Smhd = 0x736D6864; // 'smhd'
    public const uint Dinf = 0x64696E66; // 'dinf'
    public const uint Dref = 0x64726566; // 'dref'
    public const uint Url = 0x75726C20; // 'url '
    public const uint Stbl = 0x7374626C; // 'stbl'
    public const uint Stsd = 0x73747364; // 'stsd'
    public const uint Stts = 0x73747473; // 'stts'
    public const uint Stsc = 0x73747363; // 'stsc'
    public const uint Stsz = 0x7374737A; // 'stsz'
    public const uint Stco = 0x7374636F; // 'stco'
    public const uint Avc1 = 0x61766331; // 'avc1'
    public const uint AvcC = 0x61766343; // 'avcC'
    public const uint Hvc1 = 0x68766331; // 'hvc1'
    public const uint Hev1 = 0x68657631; // 'hev1'
    public const uint HvcC = 0x68766343; // 'hvcC'
    public const uint Av01 = 0x61763031; // 'av01'
    public const uint Av1C = 0x61763143; // 'av1C'
    public const uint Mp4a = 0x6D703461; // 'mp4a'
    public const uint Esds = 0x65736473; // 'esds'
    public const uint Pasp = 0x70617370; // 'pasp'
    public const uint Mvex = 0x6D766578; // 'mvex'
    public const uint Trex = 0x74726578; // 'trex'
    public const uint Moof = 0x6D6F6F66; // 'moof'
    public const uint Mfhd = 0x6D666864; // 'mfhd'
    public const uint Traf = 0x74726166; // 'traf'
    public const uint Tfhd = 0x74666864; // 'tfhd'
    public const uint Tfdt = 0x74666474; // 'tfdt'
    public const uint Trun = 0x7472756E; // 'trun'
    public const uint Mdat = 0x6D646174; // 'mdat'
    public const uint Vide = 0x76696465; // 'vide'
    public const uint Soun = 0x736F756E; // 'soun'
    public const uint Cmfc = 0x636D6663; // 'cmfc'
    public const uint Cmfs = 0x636D6673; // 'cmfs'
    public const uint Iso6 = 0x69736F36; // 'iso6'
    public const uint Msdh = 0x6D736468; // 'msdh'

    /// <summary>Builds a four-character code from its ASCII spelling (tests and diagnostics; not for hot paths).</summary>
    public static uint From(string code)
    {
        ArgumentNullException.ThrowIfNull(code);
        if (code.Length != 4) throw new ArgumentException($"A four-character code has 4 characters, got '{code}'.", nameof(code));
        uint value = 0;
        foreach (char c in code)
        {
            if (c > 0x7F) throw new ArgumentException($"A four-character code is ASCII, got '{code}'.", nameof(code));
            value = (value << 8) | c;
        }
        return value;
    }

    /// <summary>The ASCII spelling of a four-character code.</summary>
    public static string ToString(uint code) =>
        string.Create(4, code, static (span, c) =>
        {
            for (int i = 0; i < 4; i++) span[i] = (char)((c >> (24 - 8 * i)) & 0xFF);
        });
}
