using System.Text;

namespace Broadcast.Control.Chat;

/// <summary>
/// What a viewer may send: a display name and a message, checked before anything else looks at them. Both are
/// stored and sent as plain text; pages render them with <c>textContent</c>, never as markup.
/// </summary>
public static class ChatText
{
    /// <summary>The message, trimmed, or null with the reason in <paramref name="error"/>.</summary>
    public static string? ValidateMessage(string? text, int maxLength, out string? error)
    {
        error = null;
        if (text is null)
        {
            error = "The message is missing.";
            return null;
        }

        var t = text.Trim();
        if (t.Length == 0)
        {
            error = "The message is empty.";
            return null;
        }

        if (t.Length > maxLength)
        {
            error = $"The message is {t.Length} characters; at most {maxLength} are allowed.";
            return null;
        }

        if (!IsClean(t, allowNewLines: true))
        {
            error = "The message holds control or invalid characters.";
            return null;
        }

        return t;
    }

    /// <summary>The display name, trimmed with inner runs of white space folded to one space, or null with the reason.</summary>
    public static string? ValidateName(string? name, int maxLength, out string? error)
    {
        error = null;
        var t = string.Join(' ', (name ?? "").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (t.Length == 0)
        {
            error = "Pick a display name.";
            return null;
        }

        if (t.Length > maxLength)
        {
            error = $"The display name is at most {maxLength} characters.";
            return null;
        }

        if (!IsClean(t, allowNewLines: false))
        {
            error = "The display name holds control or invalid characters.";
            return null;
        }

        return t;
    }

    // No control characters (new lines allowed in messages), no lone surrogates, no bidi overrides that
    // would let one message's text run backwards over the next in the page.
    private static bool IsClean(string s, bool allowNewLines)
    {
        foreach (var r in s.EnumerateRunes())
        {
            var v = r.Value;
            if (v == '\n' && allowNewLines) continue;
            if (Rune.IsControl(r)) return false;
            if (v is >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069) return false;
        }

        // EnumerateRunes reads a lone surrogate as U+FFFD, which is a valid character: look for them directly.
        return !HasLoneSurrogate(s);
    }

    private static bool HasLoneSurrogate(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1])) return true;
                i++;
            }
            else if (char.IsLowSurrogate(s[i]))
            {
                return true;
            }
        }

        return false;
    }
}
