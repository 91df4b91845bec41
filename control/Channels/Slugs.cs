using System.Globalization;
using System.Text;

namespace Broadcast.Control.Channels;

/// <summary>
/// Channel slugs: the public name in playback URLs and storage paths (<c>/live/{slug}/master.m3u8</c>).
/// Only <c>[a-z0-9-]</c>, no leading/trailing or doubled '-', at most 64 characters: safe as a URL
/// path segment, a file name and an S3 key segment without escaping, and never "." or "..".
/// </summary>
public static class Slugs
{
    public const int MaxLength = Broadcast.Media.ChannelNames.MaxLength;
    public const string Fallback = "channel";

    /// <summary>Lowercases, folds accents (é → e), turns every other run of characters into one '-'.</summary>
    public static string FromName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var decomposed = name.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(Math.Min(decomposed.Length, MaxLength));
        var pendingDash = false;
        foreach (var ch in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(ch) == UnicodeCategory.NonSpacingMark)
            {
                continue;
            }

            var c = char.ToLowerInvariant(ch);
            var folded = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? null : FoldLatin(c);
            if (folded is not null || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            {
                if (pendingDash && builder.Length > 0)
                {
                    builder.Append('-');
                }

                pendingDash = false;
                if (folded is null)
                {
                    builder.Append(c);
                }
                else
                {
                    builder.Append(folded);
                }

                if (builder.Length >= MaxLength)
                {
                    builder.Length = MaxLength;
                    break;
                }
            }
            else
            {
                pendingDash = true;
            }
        }

        var slug = builder.ToString().TrimEnd('-');
        return slug.Length == 0 ? Fallback : slug;
    }

    // InvariantGlobalization leaves string.Normalize without decomposition data, so the accented
    // Latin-1 letters that most channel names use are folded by hand.
    private static string? FoldLatin(char c) => c switch
    {
        'à' or 'á' or 'â' or 'ã' or 'ä' or 'å' => "a",
        'æ' => "ae",
        'ç' => "c",
        'è' or 'é' or 'ê' or 'ë' => "e",
        'ì' or 'í' or 'î' or 'ï' => "i",
        'ð' => "d",
        'ñ' => "n",
        'ò' or 'ó' or 'ô' or 'õ' or 'ö' or 'ø' => "o",
        'œ' => "oe",
        'ù' or 'ú' or 'û' or 'ü' => "u",
        'ý' or 'ÿ' => "y",
        'þ' => "th",
        'ß' => "ss",
        _ => null,
    };

    /// <summary><paramref name="baseSlug"/> with suffix <c>-n</c>, shortened so the whole stays within <see cref="MaxLength"/>.</summary>
    public static string WithSuffix(string baseSlug, int n)
    {
        if (n <= 1)
        {
            return baseSlug;
        }

        var suffix = "-" + n.ToString(CultureInfo.InvariantCulture);
        var stem = baseSlug.Length + suffix.Length > MaxLength ? baseSlug[..(MaxLength - suffix.Length)].TrimEnd('-') : baseSlug;
        return stem + suffix;
    }

    /// <summary>The first of base, base-2, base-3… not in <paramref name="taken"/>.</summary>
    public static string FirstFree(string baseSlug, IEnumerable<string> taken)
    {
        var set = new HashSet<string>(taken, StringComparer.Ordinal);
        for (var n = 1; ; n++)
        {
            var candidate = WithSuffix(baseSlug, n);
            if (!set.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Whether <paramref name="slug"/> is a channel's name: <see cref="Broadcast.Media.ChannelNames"/>, the one rule.</summary>
    public static bool IsValid(string? slug) => slug is not null && Broadcast.Media.ChannelNames.IsValid(slug);
}
