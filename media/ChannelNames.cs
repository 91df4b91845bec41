namespace Broadcast.Media;

/// <summary>
/// The one rule for a channel's public name (its slug), which is also its hub's name and its folder in the store:
/// <c>[a-z0-9-]</c>, at most 64 characters, not starting or ending with '-'. Safe as a URL path segment, a file name and an
/// S3 key segment without escaping, and never "." or "..". Control makes slugs to it (<c>Slugs</c>); every door that
/// takes a channel's name from a request (WHEP, chat, the watch page) checks it here before any lookup.
/// </summary>
public static class ChannelNames
{
    public const int MaxLength = 64;

    public static bool IsValid(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxLength || name[0] == '-' || name[^1] == '-') return false;
        foreach (char c in name)
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-')) return false;
        return true;
    }
}
