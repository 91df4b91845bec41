namespace Broadcast.Control.Restream;

/// <summary>
/// Validation of a destination's server URL and stream key, before anything is stored: the URL is
/// <c>rtmp://host[:port]/app[/…]</c> or <c>rtmps://…</c>, without user information and without the key (which has its
/// own, encrypted field).
/// </summary>
public static class DestinationUrls
{
    public const int UrlMaxLength = 2048;
    public const int StreamKeyMaxLength = 1024;

    /// <summary>Null when valid, else the reason (a sentence about the field's value).</summary>
    public static string? ValidateUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return "The URL is required.";
        if (url.Length > UrlMaxLength) return $"The URL must be at most {UrlMaxLength} characters.";
        if (url.Any(char.IsControl) || url.Any(char.IsWhiteSpace)) return "The URL must not contain spaces or control characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "The URL must be an absolute rtmp:// or rtmps:// URL.";
        if (uri.Scheme is not ("rtmp" or "rtmps")) return $"The scheme '{uri.Scheme}' is not supported: use rtmp:// or rtmps://.";
        if (string.IsNullOrEmpty(uri.Host)) return "The URL has no host.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "The URL must not carry a user name or password.";
        if (uri.AbsolutePath.Trim('/').Length == 0) return "The URL needs an application path, e.g. rtmp://host/live.";
        if (!string.IsNullOrEmpty(uri.Fragment)) return "The URL must not have a fragment.";
        return null;
    }

    public static string? ValidateStreamKey(string? key)
    {
        if (string.IsNullOrEmpty(key)) return "The stream key is required.";
        if (key.Length > StreamKeyMaxLength) return $"The stream key must be at most {StreamKeyMaxLength} characters.";
        if (key.Any(char.IsControl) || key.Any(char.IsWhiteSpace)) return "The stream key must not contain spaces or control characters.";
        if (key.Contains('/', StringComparison.Ordinal)) return "The stream key must not contain '/'.";
        return null;
    }

    /// <summary>Enough of the key to tell two apart: its last four characters, the rest starred.</summary>
    public static string Mask(string key) => key.Length <= 8 ? new string('*', 8) : new string('*', 8) + key[^4..];
}
