namespace Broadcast.Control.Chat;

/// <summary>Who sees a posted message: at once, after a moderator approves it, or nobody (chat closed).</summary>
public enum ChatMode
{
    Open,
    Hold,
    Off,
}

/// <summary>What the link filter does with a message that carries a URL.</summary>
public enum ChatLinkPolicy
{
    /// <summary>The message is shown, its links as plain text (not clickable). The default.</summary>
    Text,

    /// <summary>Links are shown as clickable links (rel="nofollow noopener", new tab).</summary>
    Clickable,

    /// <summary>A message with a link is refused.</summary>
    Block,
}

/// <summary>One channel's chat settings, kept in <c>chat_settings</c> (a channel without a row has the defaults).</summary>
public sealed record ChatRoomSettings(ChatMode Mode, int SlowModeSeconds, ChatLinkPolicy Links, IReadOnlyList<string> BlockedWords)
{
    public const int MaxSlowModeSeconds = 3600;
    public const int MaxBlockedWords = 500;
    public const int MaxBlockedWordLength = 64;

    public static ChatRoomSettings Default { get; } = new(ChatMode.Open, 0, ChatLinkPolicy.Text, []);

    public static string ModeName(ChatMode mode) => mode switch { ChatMode.Hold => "hold", ChatMode.Off => "off", _ => "open" };

    public static string LinksName(ChatLinkPolicy links)
        => links switch { ChatLinkPolicy.Clickable => "clickable", ChatLinkPolicy.Block => "block", _ => "text" };

    public static bool TryParseMode(string? value, out ChatMode mode)
    {
        mode = value switch { "open" => ChatMode.Open, "hold" => ChatMode.Hold, "off" => ChatMode.Off, _ => (ChatMode)(-1) };
        return (int)mode >= 0;
    }

    public static bool TryParseLinks(string? value, out ChatLinkPolicy links)
    {
        links = value switch { "text" => ChatLinkPolicy.Text, "clickable" => ChatLinkPolicy.Clickable, "block" => ChatLinkPolicy.Block,
            _ => (ChatLinkPolicy)(-1) };
        return (int)links >= 0;
    }

    /// <summary>
    /// Builds settings from a request's fields; a missing field keeps <paramref name="current"/>'s value.
    /// </summary>
    /// <exception cref="ValidationFailedException">A field is out of range (named in camelCase).</exception>
    public static ChatRoomSettings Parse(ChatRoomSettings current, string? mode, int? slowModeSeconds, string? links,
        IReadOnlyList<string?>? blockedWords)
    {
        ArgumentNullException.ThrowIfNull(current);
        var errors = new Dictionary<string, string[]>();
        var m = current.Mode;
        if (mode is not null && !TryParseMode(mode, out m))
            errors["mode"] = ["The mode must be 'open', 'hold' (every message waits for a moderator) or 'off'."];
        var slow = slowModeSeconds ?? current.SlowModeSeconds;
        if (slow is < 0 or > MaxSlowModeSeconds)
            errors["slowModeSeconds"] = [$"Slow mode is 0 (off) to {MaxSlowModeSeconds} seconds between one viewer's messages."];
        var l = current.Links;
        if (links is not null && !TryParseLinks(links, out l))
            errors["links"] = ["Links must be 'text' (shown, not clickable), 'clickable' or 'block'."];
        var words = current.BlockedWords;
        if (blockedWords is not null)
        {
            var list = new List<string>();
            foreach (var w in blockedWords)
            {
                var t = w?.Trim();
                if (string.IsNullOrEmpty(t)) continue;
                if (t.Length > MaxBlockedWordLength || t.Any(char.IsControl))
                {
                    errors["blockedWords"] = [$"Each blocked word is at most {MaxBlockedWordLength} characters, no control characters."];
                    break;
                }

                if (!list.Contains(t, StringComparer.OrdinalIgnoreCase)) list.Add(t);
            }

            if (list.Count > MaxBlockedWords) errors["blockedWords"] = [$"At most {MaxBlockedWords} blocked words."];
            words = list;
        }

        if (errors.Count > 0) throw new ValidationFailedException(errors);
        return new ChatRoomSettings(m, slow, l, words);
    }
}
