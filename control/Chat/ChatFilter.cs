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
/// bare host names with a common top-level domain.
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
            var alternatives = string.Join('|', settings.BlockedWords.Select(Regex.Escape));
            // Bounded: the pattern is linear (alternation of literals), the timeout guards anyway.
            _words = new Regex($@"(?<![\p{{L}}\p{{N}}_])(?:{alternatives})(?![\p{{L}}\p{{N}}_])",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        }
    }

    public ChatFilterVerdict Check(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
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
            return LinkPattern().IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
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
