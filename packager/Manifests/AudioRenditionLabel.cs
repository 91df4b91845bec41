using System.Collections.Frozen;
using Broadcast.Media;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// How the manifests name an audio rendition from its encoder's label (<see cref="AudioLabel"/>): the language as an
/// RFC 5646 tag (HLS LANGUAGE, RFC 8216 section 4.3.4.1; DASH AdaptationSet@lang, ISO/IEC 23009-1 5.3.3.2), a name for
/// a player's menu, and what its purpose means to each format.
/// </summary>
/// <remarks>
/// RFC 5646 section 2.2.1 registers only the ISO 639-1 two-letter code for a language that has one, so "fra" and "fre"
/// are both written "fr"; a language with no two-letter code keeps its ISO 639-2 code, which is its registered subtag.
/// The table is written out because the service runs with invariant globalization (no ICU data to ask). Its names are
/// the languages' English names, as Apple's authoring guidance shows them; a code not in the table is named by itself.
/// </remarks>
public static class AudioRenditionLabel
{
    // ISO 639-2 (bibliographic and terminologic codes) to ISO 639-1 and the English name: the languages broadcasters
    // most often carry as second audio, those of the EBU's members and the world's most spoken.
    private static readonly FrozenDictionary<string, (string Tag, string Name)> Languages = new (string[] Codes, string Tag, string Name)[]
    {
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
    }.SelectMany(l => l.Codes.Select(c => KeyValuePair.Create(c, (l.Tag, l.Name)))).ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// The RFC 5646 tag of an ISO 639-2 code: its two-letter code where one exists, else the code itself; null for none,
    /// and for "und" (undetermined), "mul", "zxx" and the qaa–qtz local range, which say nothing a player can offer.
    /// </summary>
    public static string? LanguageTag(string? iso639)
    {
        if (iso639 is not { Length: 3 } code || !code.All(char.IsAsciiLetterLower)) return null;
        if (Languages.TryGetValue(code, out var known)) return known.Tag;
        if (code is "und" or "mul" or "zxx" or "mis" || (code[0] == 'q' && code[1] <= 't')) return null;
        return code;
    }

    /// <summary>A player's menu entry: the language's English name (its tag when not in the table) and its purpose.</summary>
    public static string DisplayName(AudioLabel label, string fallback)
    {
        ArgumentNullException.ThrowIfNull(label);
        string name = label.Language is { } code && Languages.TryGetValue(code, out var known) ? known.Name
            : LanguageTag(label.Language) ?? fallback;
        return label.Purpose switch
        {
            AudioPurpose.AudioDescription => name + " (audio description)",
            AudioPurpose.HearingImpaired => name + " (enhanced dialogue)",
            AudioPurpose.CleanEffects => name + " (music and effects)",
            _ => name,
        };
    }

    /// <summary>
    /// HLS CHARACTERISTICS (RFC 8216 section 4.3.4.1, Apple's media characteristic tags) for a purpose players act on:
    /// an audio description, or speech made easier to hear. Null otherwise.
    /// </summary>
    public static string? HlsCharacteristics(AudioPurpose purpose) => purpose switch
    {
        AudioPurpose.AudioDescription => "public.accessibility.describes-video",
        AudioPurpose.HearingImpaired => "public.accessibility.enhances-speech-intelligibility",
        _ => null,
    };

    /// <summary>
    /// The DASH Accessibility value in the audio purpose scheme of DASH-IF IOP (urn:tva:metadata:cs:AudioPurposeCS:2007,
    /// 1: for the visually impaired, 2: for the hard of hearing); null for a purpose it has no value for.
    /// </summary>
    public static int? DashAudioPurpose(AudioPurpose purpose) => purpose switch
    {
        AudioPurpose.AudioDescription => 1,
        AudioPurpose.HearingImpaired => 2,
        _ => null,
    };

    /// <summary>
    /// The store names of a broadcast's audio renditions: <c>audio</c> for the default track, then <c>audio-{tag}</c>
    /// for each alternate (<c>audio-fr</c>), or <c>audio-{n}</c> (its position, the default being 1) when it has no language
    /// or shares one with an alternate before it (a description in the same language as a second commentary).
    /// </summary>
    public static IReadOnlyList<string> RenditionNames(string defaultName, IReadOnlyList<AudioLabel> alternates)
    {
        ArgumentNullException.ThrowIfNull(alternates);
        var names = new List<string>(alternates.Count + 1) { defaultName };
        for (int i = 0; i < alternates.Count; i++)
        {
            string? tag = LanguageTag(alternates[i].Language);
            string name = tag is not null && !names.Contains($"{defaultName}-{tag}") ? $"{defaultName}-{tag}" : $"{defaultName}-{i + 2}";
            names.Add(name);
        }
        return names;
    }
}
