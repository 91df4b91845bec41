using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Broadcast.Control.Chat;

/// <summary>Why a message was refused by the filter, or <see cref="None"/>.</summary>
public enum ChatFilterVerdict
{
    None,
    BlockedWord,
    Link,
}

/// <summary>
/// The word and link filter of one channel. Words match whole words, case-insensitively (so "ass" does not refuse
/// "class"); a blocked entry with a space matches that phrase. Links are URLs with a scheme, <c>www.</c> names and
/// bare host names with a common top-level domain. Both look at the text as a reader sees it (<see cref="ForMatching"/>):
/// fullwidth forms and lookalike dots folded and invisible characters removed, so "da\u200Brn" or "scam\uFF0Exyz" is
/// what it reads as.
/// </summary>
public sealed partial class ChatFilter
{
    private readonly Regex? _words;
    private readonly ChatLinkPolicy _links;

    public ChatFilter(ChatRoomSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _links = settings.Links;
        if (settings.BlockedWords.Count > 0)
        {
            var alternatives = string.Join('|', settings.BlockedWords.Select(w => Regex.Escape(ForMatching(w))));
            // Bounded: the pattern is linear (alternation of literals), the timeout guards anyway.
            _words = new Regex($@"(?<![\p{{L}}\p{{N}}_])(?:{alternatives})(?![\p{{L}}\p{{N}}_])",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
    }

    public ChatFilterVerdict Check(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = ForMatching(text);
        if (_words is not null)
        {
            try
            {
                if (_words.IsMatch(text)) return ChatFilterVerdict.BlockedWord;
            }
            catch (RegexMatchTimeoutException)
            {
                return ChatFilterVerdict.BlockedWord;
            }
        }

        return _links == ChatLinkPolicy.Block && ContainsLink(text) ? ChatFilterVerdict.Link : ChatFilterVerdict.None;
    }

    /// <summary>Whether the text holds something a browser or a reader would take for a link.</summary>
    public static bool ContainsLink(string text)
    {
        try
        {
            return LinkPattern().IsMatch(ForMatching(text));
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
    }

    /// <summary>
    /// The text as a reader sees it, for matching only (the message keeps what its author wrote): the fullwidth forms of
    /// ASCII (U+FF01-FF5E: "ｓｃａｍ．ｘｙｚ" is "scam.xyz") folded to ASCII, the dots a browser or a reader takes for a full
    /// stop (one-dot leader, ideographic and small full stops) read as '.', and format characters removed (category Cf:
    /// zero-width space and joiners, word joiner, byte-order mark, soft hyphen, bidirectional controls). This is the part of
    /// Unicode compatibility folding (NFKC) that hides words and links; the server runs with invariant globalization (no
    /// ICU), where string.Normalize does not fold compatibility forms.
    /// </summary>
    public static string ForMatching(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        StringBuilder? result = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            char? fold = c switch
            {
                >= '\uFF01' and <= '\uFF5E' => (char)(c - 0xFEE0),
                '\u2024' or '\u3002' or '\uFF61' or '\uFE52' => '.',
                _ => null,
            };
            bool drop = fold is null && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format;
            if (fold is null && !drop)
            {
                result?.Append(c);
                continue;
            }
            result ??= new StringBuilder(text, 0, i, text.Length);
            if (fold is { } f) result.Append(f);
        }
        return result?.ToString() ?? text;
    }

    public static string Describe(ChatFilterVerdict verdict) => verdict switch
    {
        ChatFilterVerdict.BlockedWord => "The message contains a word this chat does not allow.",
        ChatFilterVerdict.Link => "Links are not allowed in this chat.",
        _ => "",
    };

    [GeneratedRegex(@"(?:\b[a-z][a-z0-9+.\-]{1,15}://\S)|(?:\bwww\.\S)|(?:\b[a-z0-9\-]{1,63}(?:\.[a-z0-9\-]{1,63})*\.(?:com|net|org|io|tv|gg|ly|me|co|info|biz|xyz|ru|de|uk|app|dev|link|live|stream)\b)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex LinkPattern();
}
