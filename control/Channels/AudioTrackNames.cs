using System.Globalization;
using Broadcast.Media;

namespace Broadcast.Control.Channels;

/// <summary>
/// A channel's names for the encoder's audio tracks that carry no language tag (<see cref="Channel.AudioTracks"/>): how
/// the API's entries are read and checked, and how the list is stored in the <c>audio_tracks</c> column.
/// </summary>
public static class AudioTrackNames
{
    /// <summary>
    /// The most entries a channel holds: the most audio tracks a publisher may send (<c>Srt:MaxAudioTracks</c>,
    /// <c>Rtmp:MaxAudioTracks</c>).
    /// </summary>
    public const int MaxTracks = 8;

    /// <summary>The API's purpose values, in <see cref="AudioPurpose"/> order.</summary>
    public static IReadOnlyList<string> PurposeNames { get; } = ["main", "cleanEffects", "hearingImpaired", "audioDescription"];

    /// <summary>
    /// The labels an admin asked for: each entry a language (an ISO 639-1 code in <see cref="AudioLanguages"/>, or any
    /// ISO 639-2 code; null or empty leaves that track as the encoder sent it) and a purpose (<see cref="PurposeNames"/>,
    /// absent: main). The errors name the entry at fault; the labels are null when there is any.
    /// </summary>
    public static (IReadOnlyList<AudioLabel>? Labels, IReadOnlyList<string> Errors) Read(IReadOnlyList<(string? Language, string? Purpose)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var errors = new List<string>();
        if (entries.Count > MaxTracks)
        {
            errors.Add($"At most {MaxTracks} audio tracks can be named (the most a publisher may send).");
            return (null, errors);
        }
        var labels = new List<AudioLabel>(entries.Count);
        for (int i = 0; i < entries.Count; i++)
        {
            var (language, purposeName) = entries[i];
            string? code = null;
            if (!string.IsNullOrEmpty(language) && (code = AudioLanguages.ToIso639(language)) is null)
                errors.Add($"Track {i + 1}: language '{Shorten(language)}' is not an ISO 639 code " +
                    "(two letters such as 'fr', or three such as 'fra').");
            int purpose = purposeName is null ? 0 : IndexOf(purposeName);
            if (purpose < 0)
                errors.Add($"Track {i + 1}: purpose '{Shorten(purposeName!)}' is not one of {string.Join(", ", PurposeNames)}.");
            labels.Add(new AudioLabel(code, (AudioPurpose)Math.Max(purpose, 0)));
        }
        return errors.Count > 0 ? (null, errors) : (TrimUnnamed(labels), errors);
    }

    /// <summary>The API's purpose value of a label.</summary>
    public static string PurposeName(AudioPurpose purpose) => (int)purpose < PurposeNames.Count ? PurposeNames[(int)purpose] : "main";

    /// <summary>The column's text: null for no names.</summary>
    public static string? Encode(IReadOnlyList<AudioLabel> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (labels.Count == 0) return null;
        return string.Join(',', labels.Select(l => (l.Language ?? "-")
            + (l.Purpose == AudioPurpose.Main ? "" : ":" + ((int)l.Purpose).ToString(CultureInfo.InvariantCulture))));
    }

    /// <summary>The column's names; an entry that does not read (written by a later version) names nothing.</summary>
    public static IReadOnlyList<AudioLabel> Decode(string? stored)
    {
        if (string.IsNullOrEmpty(stored)) return [];
        var labels = new List<AudioLabel>();
        foreach (string entry in stored.Split(',').Take(MaxTracks))
        {
            string[] parts = entry.Split(':');
            string? code = parts[0] is { Length: 3 } c && c.All(char.IsAsciiLetterLower) ? c : null;
            int purpose = parts.Length == 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int p)
                && p < PurposeNames.Count ? p : 0;
            labels.Add(new AudioLabel(code, (AudioPurpose)purpose));
        }
        return TrimUnnamed(labels);
    }

    private static int IndexOf(string purpose)
    {
        for (int i = 0; i < PurposeNames.Count; i++)
            if (string.Equals(PurposeNames[i], purpose, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    // Trailing entries that name nothing are not kept: the list is as long as its last named track.
    private static List<AudioLabel> TrimUnnamed(List<AudioLabel> labels)
    {
        while (labels.Count > 0 && labels[^1] == AudioLabel.Unlabelled) labels.RemoveAt(labels.Count - 1);
        return labels;
    }

    private static string Shorten(string text) => text.Length <= 16 ? text : text[..16] + "…";
}
