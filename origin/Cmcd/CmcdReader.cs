using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Broadcast.Origin.Cmcd;

/// <summary>How a read of one CMCD payload ended.</summary>
public enum CmcdReadResult
{
    /// <summary>The payload was read; keys with a bad value were dropped and counted in <see cref="CmcdData.MalformedValues"/>.</summary>
    Read,

    /// <summary>Nothing to read.</summary>
    Empty,

    /// <summary>Longer than <see cref="CmcdReader.MaxLength"/>: not read at all.</summary>
    TooLong,

    /// <summary>
    /// Not a dictionary (a key that is not one, an unterminated string, a stray character): keys read before the fault are
    /// kept, nothing after it.
    /// </summary>
    Malformed,
}

/// <summary>
/// Reads Common Media Client Data (CTA-5004) from the text of one <c>CMCD-*</c> header or the decoded <c>CMCD</c> query
/// argument: a comma-separated list of <c>key</c>, <c>key=value</c> or <c>key="string"</c> members, the dictionary syntax of
/// Structured Field Values (RFC 8941 §3.2, which CTA-5004 §3.2 follows). Bounded and allocation-free: the text is walked
/// once, strings are hashed in place, keys it does not know (custom keys, the later versions' keys) are skipped.
/// </summary>
public static class CmcdReader
{
    /// <summary>
    /// The longest payload read. Every version 1 key with a 64-character session and content id is under 400 characters;
    /// a client sending more is not a player.
    /// </summary>
    public const int MaxLength = 2048;

    /// <summary>CTA-5004 §3.3: 'sid' and 'cid' are at most 64 characters.</summary>
    public const int MaxIdLength = 64;

    /// <summary>The integers are kbps and ms: nine digits cover any a player can mean and fit an int.</summary>
    private const int MaxIntegerDigits = 9;

    /// <summary>
    /// Ids are hashed with a key of this process's own, so a client cannot choose two ids that share a session in the
    /// aggregate without knowing it (the aggregate's caps bound the rest).
    /// </summary>
    private static readonly ulong HashKey = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    /// <summary>Reads <paramref name="text"/> into <paramref name="data"/>, over what earlier reads put there (one read per header).</summary>
    public static CmcdReadResult Read(ReadOnlySpan<char> text, ref CmcdData data)
    {
        if (text.IsEmpty) return CmcdReadResult.Empty;
        if (text.Length > MaxLength) return CmcdReadResult.TooLong;
        int i = SkipSpaces(text, 0);
        if (i == text.Length) return CmcdReadResult.Empty;
        while (true)
        {
            // RFC 8941 §3.1.2: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" ). Upper case is let
            // through after the first character: CTA-5004's own custom-key example is "com.example-myNumericKey".
            int keyStart = i;
            if (!(IsLowerAlpha(text[i]) || text[i] == '*')) return CmcdReadResult.Malformed;
            i++;
            while (i < text.Length && IsKeyChar(text[i])) i++;
            var key = text[keyStart..i];

            var value = ReadOnlySpan<char>.Empty;
            bool hasValue = false, quoted = false;
            if (i < text.Length && text[i] == '=')
            {
                hasValue = true;
                i++;
                if (i < text.Length && text[i] == '"')
                {
                    int close = ClosingQuote(text, i + 1);
                    if (close < 0) return CmcdReadResult.Malformed;
                    value = text[(i + 1)..close];
                    quoted = true;
                    i = close + 1;
                }
                else
                {
                    int start = i;
                    while (i < text.Length && text[i] is not (',' or ' ' or '\t' or '"')) i++;
                    value = text[start..i];
                    if (value.IsEmpty) return CmcdReadResult.Malformed;
                }
            }

            Apply(key, value, hasValue, quoted, ref data);
            i = SkipSpaces(text, i);
            if (i == text.Length) return CmcdReadResult.Read;
            if (text[i] != ',') return CmcdReadResult.Malformed;
            i = SkipSpaces(text, i + 1);
            if (i == text.Length) return CmcdReadResult.Malformed; // a trailing comma (RFC 8941 §4.2.2)
        }
    }

    private static void Apply(ReadOnlySpan<char> key, ReadOnlySpan<char> value, bool hasValue, bool quoted, ref CmcdData data)
    {
        // True: read; false: the key's value broke its type or bounds; null: a key this reader does not keep.
        bool? read = key switch
        {
            "br" => Integer(value, hasValue, quoted, ref data.EncodedBitrateKbps),
            "bl" => Integer(value, hasValue, quoted, ref data.BufferLengthMs),
            "bs" => Boolean(value, hasValue, quoted, ref data.BufferStarvation),
            "cid" => Id(value, quoted, ref data.ContentIdHash),
            "d" => Integer(value, hasValue, quoted, ref data.ObjectDurationMs),
            "dl" => Integer(value, hasValue, quoted, ref data.DeadlineMs),
            "mtp" => Integer(value, hasValue, quoted, ref data.MeasuredThroughputKbps),
            "ot" => Token(quoted ? default : ObjectType(value), ref data.ObjectType),
            "pr" => Decimal(value, hasValue, quoted, ref data.PlaybackRatePerMille),
            "rtp" => Integer(value, hasValue, quoted, ref data.RequestedThroughputKbps),
            "sf" => Token(quoted ? default : StreamingFormat(value), ref data.StreamingFormat),
            "sid" => SessionId(value, quoted, ref data),
            "st" => Token(quoted ? default : StreamType(value), ref data.StreamType),
            "su" => Boolean(value, hasValue, quoted, ref data.Startup),
            "tb" => Integer(value, hasValue, quoted, ref data.TopBitrateKbps),
            "v" => Integer(value, hasValue, quoted, ref data.Version),
            // 'nor' and 'nrr' (the next request) and every key this reader does not know: skipped, not counted.
            _ => null,
        };
        if (read == false) data.MalformedValues++;
        else if (read == true) data.HasData = true;
    }

    private static bool Integer(ReadOnlySpan<char> value, bool hasValue, bool quoted, ref int field)
    {
        if (!hasValue || quoted || value.Length > MaxIntegerDigits) return false;
        int n = 0;
        foreach (char c in value)
        {
            if (c is < '0' or > '9') return false; // negative values mean nothing for these keys
            n = (n * 10) + (c - '0');
        }

        field = n;
        return true;
    }

    /// <summary>RFC 8941 §3.3.2 decimal: at most three fractional digits; kept in thousandths.</summary>
    private static bool Decimal(ReadOnlySpan<char> value, bool hasValue, bool quoted, ref int field)
    {
        if (!hasValue || quoted) return false;
        int dot = value.IndexOf('.');
        var whole = dot < 0 ? value : value[..dot];
        var fraction = dot < 0 ? ReadOnlySpan<char>.Empty : value[(dot + 1)..];
        if (whole.IsEmpty || whole.Length > 6 || fraction.Length > 3 || (dot >= 0 && fraction.IsEmpty)) return false;
        int n = 0;
        foreach (char c in whole)
        {
            if (c is < '0' or > '9') return false;
            n = (n * 10) + (c - '0');
        }

        int thousandths = 0, scale = 100;
        foreach (char c in fraction)
        {
            if (c is < '0' or > '9') return false;
            thousandths += (c - '0') * scale;
            scale /= 10;
        }

        field = (n * 1000) + thousandths;
        return true;
    }

    /// <summary>RFC 8941 §3.3.6: a bare key is true; '?1' and '?0' are the explicit forms.</summary>
    private static bool Boolean(ReadOnlySpan<char> value, bool hasValue, bool quoted, ref bool field)
    {
        if (!hasValue)
        {
            field = true;
            return true;
        }

        if (quoted || value.Length != 2 || value[0] != '?' || value[1] is not ('0' or '1')) return false;
        field = value[1] == '1';
        return true;
    }

    /// <summary>A token (RFC 8941 §3.3.4, never quoted) from the key's list; one not on it (None) is malformed.</summary>
    private static bool Token<T>(T parsed, ref T field)
        where T : struct, Enum
    {
        if (EqualityComparer<T>.Default.Equals(parsed, default)) return false;
        field = parsed;
        return true;
    }

    private static CmcdObjectType ObjectType(ReadOnlySpan<char> token) => token switch
    {
        "m" => CmcdObjectType.Manifest,
        "a" => CmcdObjectType.Audio,
        "v" => CmcdObjectType.Video,
        "av" => CmcdObjectType.Muxed,
        "i" => CmcdObjectType.Init,
        "c" => CmcdObjectType.Caption,
        "tt" => CmcdObjectType.TimedText,
        "k" => CmcdObjectType.Key,
        "o" => CmcdObjectType.Other,
        _ => CmcdObjectType.None,
    };

    private static CmcdStreamingFormat StreamingFormat(ReadOnlySpan<char> token) => token switch
    {
        "d" => CmcdStreamingFormat.Dash,
        "h" => CmcdStreamingFormat.Hls,
        "s" => CmcdStreamingFormat.Smooth,
        "o" => CmcdStreamingFormat.Other,
        _ => CmcdStreamingFormat.None,
    };

    private static CmcdStreamType StreamType(ReadOnlySpan<char> token) => token switch
    {
        "v" => CmcdStreamType.Vod,
        "l" => CmcdStreamType.Live,
        "ll" => CmcdStreamType.LowLatencyLive,
        _ => CmcdStreamType.None,
    };

    /// <summary>A session or content id: a string (quoted) of 1 to 64 printable ASCII characters, hashed with the process's key.</summary>
    private static bool Id(ReadOnlySpan<char> value, bool quoted, ref ulong field)
    {
        if (!quoted || value.IsEmpty || value.Length > MaxIdLength) return false;
        foreach (char c in value)
        {
            if (c is < ' ' or > '~') return false;
        }

        field = Hash(value, HashKey);
        return true;
    }

    /// <summary>'sid': its keyed hash for this node's tables and its unkeyed one for the audience kept across nodes.</summary>
    private static bool SessionId(ReadOnlySpan<char> value, bool quoted, ref CmcdData data)
    {
        if (!Id(value, quoted, ref data.SessionIdHash)) return false;
        data.SessionIdIdentity = ViewerSessions.IdentityOf(value);
        return true;
    }

    /// <summary>FNV-1a over the UTF-16 bytes, started from <paramref name="key"/> (this process's <see cref="HashKey"/> for the
    /// tables here; 0 where every node must agree, <see cref="ViewerSessions.IdentityOf"/>), then the murmur3 finalizer;
    /// never zero.</summary>
    internal static ulong Hash(ReadOnlySpan<char> value, ulong key)
    {
        ulong hash = 14695981039346656037UL ^ key;
        foreach (byte b in MemoryMarshal.AsBytes(value)) hash = (hash ^ b) * 1099511628211UL;
        hash ^= hash >> 33;
        hash *= 0xff51afd7ed558ccdUL;
        hash ^= hash >> 33;
        hash *= 0xc4ceb9fe1a85ec53UL;
        hash ^= hash >> 33;
        return hash == 0 ? 1 : hash;
    }

    /// <summary>The index of the quote closing a string opened before <paramref name="start"/>, or -1 (RFC 8941 §4.2.5: only \" and \\ escape).</summary>
    private static int ClosingQuote(ReadOnlySpan<char> text, int start)
    {
        for (int i = start; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (i + 1 >= text.Length || text[i + 1] is not ('"' or '\\')) return -1;
                i++;
            }
            else if (c == '"') return i;
            else if (c is < ' ' or > '~') return -1;
        }

        return -1;
    }

    private static int SkipSpaces(ReadOnlySpan<char> text, int i)
    {
        while (i < text.Length && text[i] is ' ' or '\t') i++;
        return i;
    }

    private static bool IsLowerAlpha(char c) => c is >= 'a' and <= 'z';

    private static bool IsKeyChar(char c) => IsLowerAlpha(c) || c is (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-' or '.' or '*';
}
