namespace Broadcast.Media;

/// <summary>
/// What an audio track is for, as an encoder labels it (the audio_type of an MPEG-TS ISO 639 language descriptor,
/// ISO/IEC 13818-1 Table 2-60): players offer a description or a clean feed under its own name.
/// </summary>
public enum AudioPurpose : byte
{
    /// <summary>The programme's sound in that language (audio_type 0, undefined).</summary>
    Main = 0,

    /// <summary>Music and effects without commentary (audio_type 1).</summary>
    CleanEffects = 1,

    /// <summary>Prepared for the hearing impaired, e.g. dialogue enhanced (audio_type 2).</summary>
    HearingImpaired = 2,

    /// <summary>An audio description of the picture for the visually impaired (audio_type 3).</summary>
    AudioDescription = 3,
}

/// <summary>
/// How an encoder labelled one of its audio tracks: its language as an ISO 639-2 code (lower case, three letters; null
/// when untagged) and its purpose.
/// </summary>
public sealed record AudioLabel(string? Language, AudioPurpose Purpose)
{
    /// <summary>An untagged track.</summary>
    public static AudioLabel Unlabelled { get; } = new(null, AudioPurpose.Main);

    /// <summary>
    /// This label, or <paramref name="named"/> (how the channel's settings name the track) where the encoder sent no
    /// language: a language the encoder sent is what its operator set for this very feed, so it wins.
    /// </summary>
    public AudioLabel NamedBy(AudioLabel? named) => Language is null && named is not null && named != Unlabelled ? named : this;

    public override string ToString() => (Language ?? "untagged") + Purpose switch
    {
        AudioPurpose.Main => "",
        AudioPurpose.CleanEffects => ", clean effects",
        AudioPurpose.HearingImpaired => ", hearing impaired",
        AudioPurpose.AudioDescription => ", audio description",
        _ => $", audio type {(byte)Purpose}",
    };
}
