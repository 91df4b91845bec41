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
/// The names are the languages' English names (<see cref="AudioLanguages"/>), as Apple's authoring guidance shows them; a
/// code not in the table is named by itself.
/// </remarks>
public static class AudioRenditionLabel
{
    /// <summary>
    /// The RFC 5646 tag of an ISO 639-2 code: its two-letter code where one exists, else the code itself; null for none,
    /// and for "und" (undetermined), "mul", "zxx" and the qaa–qtz local range, which say nothing a player can offer.
    /// </summary>
    public static string? LanguageTag(string? iso639)
    {
        if (iso639 is not { Length: 3 } code || !code.All(char.IsAsciiLetterLower)) return null;
        if (AudioLanguages.TryGet(code, out string tag, out _)) return tag;
        if (code is "und" or "mul" or "zxx" or "mis" || (code[0] == 'q' && code[1] <= 't')) return null;
        return code;
    }

    /// <summary>A player's menu entry: the language's English name (its tag when not in the table) and its purpose.</summary>
    public static string DisplayName(AudioLabel label, string fallback)
    {
        ArgumentNullException.ThrowIfNull(label);
        string name = label.Language is { } code && AudioLanguages.TryGet(code, out _, out string known) ? known
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
