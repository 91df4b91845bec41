using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>Waits the ladder tests share: a master that lists every rendition, every video playlist ended.</summary>
internal static class LadderPlaylists
{
    /// <summary>The master playlist once it names each of <paramref name="renditions"/>' media playlists.</summary>
    public static async Task<string> WaitForMasterAsync(ServerProcess server, Uri master, IReadOnlyList<string> renditions, Func<string, string> log)
    {
        string text = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(master);
            text = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return renditions.All(v => text.Contains($"{v}/index.m3u8", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60), $"master.m3u8 listing {string.Join(", ", renditions)}", () => log(text));
        return text;
    }

    /// <summary>Each rendition's media playlist once every one of them has EXT-X-ENDLIST (the publish ended and was drained).</summary>
    public static async Task<Dictionary<string, string>> WaitForEndedAsync(ServerProcess server, string slug, IReadOnlyList<string> renditions, Func<string, string> log)
    {
        var playlists = new Dictionary<string, string>();
        await WaitFor.ConditionAsync(async () =>
        {
            foreach (var v in renditions) playlists[v] = await server.Viewer.GetStringAsync(server.Absolute($"/live/{slug}/{v}/index.m3u8"));
            return playlists.Values.All(p => p.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60), "every video playlist to end", () => log(string.Join("\n", playlists.Values)));
        return playlists;
    }
}
