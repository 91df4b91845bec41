using System.Collections.Frozen;

namespace Broadcast.Media;

/// <summary>
/// The languages broadcasters most often carry as second audio (those of the EBU's members and the world's most spoken):
/// each ISO 639-2 code (bibliographic and terminologic) with its ISO 639-1 code and English name. Written out because the
/// service runs with invariant globalization (no ICU data to ask). The manifests name renditions from it, and a channel's
/// settings accept either code for a track the encoder left untagged.
/// </summary>
public static class AudioLanguages
{
    private static readonly (string[] Codes, string Tag, string Name)[] Table =
    [
        (["ara"], "ar", "Arabic"), (["ben"], "bn", "Bengali"), (["bul"], "bg", "Bulgarian"), (["cat"], "ca", "Catalan"),
        (["ces", "cze"], "cs", "Czech"), (["cym", "wel"], "cy", "Welsh"), (["dan"], "da", "Danish"), (["deu", "ger"], "de", "German"),
        (["ell", "gre"], "el", "Greek"), (["eng"], "en", "English"), (["est"], "et", "Estonian"), (["eus", "baq"], "eu", "Basque"),
        (["fas", "per"], "fa", "Persian"), (["fin"], "fi", "Finnish"), (["fra", "fre"], "fr", "French"), (["gle"], "ga", "Irish"),
        (["glg"], "gl", "Galician"), (["heb"], "he", "Hebrew"), (["hin"], "hi", "Hindi"), (["hrv"], "hr", "Croatian"),
        (["hun"], "hu", "Hungarian"), (["hye", "arm"], "hy", "Armenian"), (["ind"], "id", "Indonesian"), (["isl", "ice"], "is", "Icelandic"),
        (["ita"], "it", "Italian"), (["jpn"], "ja", "Japanese"), (["kat", "geo"], "ka", "Georgian"), (["kor"], "ko", "Korean"),
        (["lav"], "lv", "Latvian"), (["lit"], "lt", "Lithuanian"), (["ltz"], "lb", "Luxembourgish"), (["mkd", "mac"], "mk", "Macedonian"),
        (["msa", "may"], "ms", "Malay"), (["mlt"], "mt", "Maltese"), (["nld", "dut"], "nl", "Dutch"), (["nor"], "no", "Norwegian"),
        (["nob"], "nb", "Norwegian Bokmål"), (["nno"], "nn", "Norwegian Nynorsk"), (["pol"], "pl", "Polish"), (["por"], "pt", "Portuguese"),
        (["ron", "rum"], "ro", "Romanian"), (["rus"], "ru", "Russian"), (["slk", "slo"], "sk", "Slovak"), (["slv"], "sl", "Slovenian"),
        (["spa"], "es", "Spanish"), (["sqi", "alb"], "sq", "Albanian"), (["srp"], "sr", "Serbian"), (["swe"], "sv", "Swedish"),
        (["tha"], "th", "Thai"), (["tur"], "tr", "Turkish"), (["ukr"], "uk", "Ukrainian"), (["urd"], "ur", "Urdu"),
        (["vie"], "vi", "Vietnamese"), (["zho", "chi"], "zh", "Chinese"),
    ];

    private static readonly FrozenDictionary<string, (string Tag, string Name)> ByCode = Table
        .SelectMany(l => l.Codes.Select(c => KeyValuePair.Create(c, (l.Tag, l.Name)))).ToFrozenDictionary(StringComparer.Ordinal);

    // The first code of each row is the terminologic one (ISO 639-2/T), which RFC 5646 and MPEG-TS descriptors prefer.
    private static readonly FrozenDictionary<string, string> ByTag = Table
        .ToFrozenDictionary(l => l.Tag, l => l.Codes[0], StringComparer.Ordinal);

    /// <summary>The ISO 639-1 code and English name of an ISO 639-2 code in the table.</summary>
    public static bool TryGet(string code, out string tag, out string name)
    {
        ArgumentNullException.ThrowIfNull(code);
        bool found = ByCode.TryGetValue(code, out var known);
        (tag, name) = found ? known : (code, code);
        return found;
    }

    /// <summary>
    /// The ISO 639-2 code an admin means by <paramref name="text"/>: a two-letter ISO 639-1 code in the table ("fr"), or
    /// any three-letter code ("fra", "fre", "gsw"), in either case. Null for anything else.
    /// </summary>
    public static string? ToIso639(string? text)
    {
        if (text is null || text.Length is not (2 or 3) || !text.All(char.IsAsciiLetter)) return null;
        string code = text.ToLowerInvariant();
        if (code.Length == 3) return code;
        return ByTag.TryGetValue(code, out var three) ? three : null;
    }
}
