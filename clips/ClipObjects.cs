using System.Text;
using Broadcast.Storage;

namespace Broadcast.Clips;

/// <summary>The clip's objects in the store as its playlists name them.</summary>
internal static class ClipObjects
{
    /// <summary>A clip playlist's URI of a stored object (<c>../../{rendition}/{name}</c>) as its store key; null for anything else.</summary>
    public static string? KeyOf(string slug, string? uri)
    {
        if (uri is null || !uri.StartsWith(StoreKeys.ClipToChannel, StringComparison.Ordinal)) return null;
        string key = $"{slug}/{uri[StoreKeys.ClipToChannel.Length..]}";
        return key.Split('/').Length == 3 && StoreKeys.IsValid(key, out _) ? key : null;
    }

    /// <summary>A stored text object (a playlist), or null when it is not there.</summary>
    public static async Task<string?> ReadTextAsync(ISegmentStore store, string key, CancellationToken cancellationToken) =>
        await store.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } o ? Encoding.UTF8.GetString(o.Data.Span) : null;
}
