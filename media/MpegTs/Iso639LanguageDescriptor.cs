namespace Broadcast.Media.MpegTs;

/// <summary>audio_type of an ISO 639 language descriptor (ISO/IEC 13818-1 Table 2-60).</summary>
public enum TsAudioType : byte
{
    Undefined = 0,
    CleanEffects = 1,
    HearingImpaired = 2,
    VisualImpairedCommentary = 3,
}

/// <summary>
/// ISO_639_language_descriptor (ISO/IEC 13818-1 2.6.18–2.6.19, tag 0x0A): the language of an elementary stream, as an
/// encoder with several audio PIDs (a second commentary, an audio description) labels each.
/// <code>
/// descriptor_tag(8)=0x0A descriptor_length(8) { ISO_639_language_code(24) audio_type(8) }…
/// </code>
/// The body may name several languages (a stream mixing two); the first is the stream's. The code is three ISO 8859-1
/// letters (ISO 639-2, bibliographic or terminologic); anything else is not a language code, and the descriptor is
/// treated as absent.
/// </summary>
public sealed record Iso639LanguageDescriptor(string Language, TsAudioType AudioType)
{
    public const byte Tag = 0x0A;

    /// <summary>The stream's first language and its audio_type, or null when the stream carries no readable descriptor.</summary>
    public static Iso639LanguageDescriptor? Find(PmtStream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        foreach (var (tag, body) in DescriptorLoop.Enumerate(stream.Descriptors))
        {
            if (tag != Tag) continue;
            if (body.Length < 4 || body.Length % 4 != 0) return null;
            Span<char> code = stackalloc char[3];
            for (int i = 0; i < 3; i++)
            {
                byte b = body[i];
                if (b is (< (byte)'A' or > (byte)'Z') and (< (byte)'a' or > (byte)'z')) return null;
                code[i] = char.ToLowerInvariant((char)b);
            }
            return new Iso639LanguageDescriptor(new string(code), (TsAudioType)body[3]);
        }
        return null;
    }

    /// <summary>How a log names it: the code, and the audio type when it says more than the language.</summary>
    public override string ToString() => AudioType switch
    {
        TsAudioType.Undefined => Language,
        TsAudioType.CleanEffects => $"{Language}, clean effects",
        TsAudioType.HearingImpaired => $"{Language}, hearing impaired",
        TsAudioType.VisualImpairedCommentary => $"{Language}, audio description",
        _ => $"{Language}, audio type 0x{(byte)AudioType:X2}",
    };
}

/// <summary>A PMT descriptor loop (ISO/IEC 13818-1 2.6): tag(8) length(8) body, repeated.</summary>
internal static class DescriptorLoop
{
    /// <summary>The (tag, body) pairs of a descriptor loop; a descriptor running past the loop ends it.</summary>
    public static IEnumerable<(byte Tag, byte[] Body)> Enumerate(byte[] loop)
    {
        int offset = 0;
        while (offset + 2 <= loop.Length)
        {
            byte tag = loop[offset];
            int length = loop[offset + 1];
            if (offset + 2 + length > loop.Length) yield break;
            yield return (tag, loop.AsSpan(offset + 2, length).ToArray());
            offset += 2 + length;
        }
    }
}
