using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>Waits the ladder tests share: a master that lists every rendition, every video playlist ended.</summary>
internal static partial class LadderPlaylists
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

    /// <summary>The MPD's Representations by id, once it lists each of <paramref name="renditions"/>.</summary>
    public static async Task<Dictionary<string, XElement>> WaitForRepresentationsAsync(ServerProcess server, Uri mpd, IReadOnlyList<string> renditions,
        Func<string, string> log)
    {
        string text = "";
        await WaitFor.ConditionAsync(async () =>
        {
            text = await server.Viewer.GetStringAsync(mpd);
            return renditions.All(v => text.Contains($"<Representation id=\"{v}\"", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(30), "the MPD to list every rendition", () => log(text));
        return XDocument.Parse(text).Descendants().Where(e => e.Name.LocalName == "Representation").ToDictionary(e => (string)e.Attribute("id")!);
    }

    /// <summary>A rendition's init segment and first media segment, as a player fetches them, probed as one file: its first stream.</summary>
    public static async Task<JsonElement> ProbeFirstSegmentAsync(ServerProcess server, string slug, string rendition, TempDirectory dir)
    {
        string playlist = await server.Viewer.GetStringAsync(server.Absolute($"/live/{slug}/{rendition}/index.m3u8"));
        string first = playlist.Split('\n').First(l => l.EndsWith(".m4s", StringComparison.Ordinal));
        string file = dir.Combine($"{rendition}.mp4");
        await using (var output = File.Create(file))
        {
            await output.WriteAsync(await InitSegmentAsync(server, slug, rendition, playlist));
            await output.WriteAsync(await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{slug}/{rendition}/{first}")));
        }
        return MediaTools.ProbeFirstStream(file);
    }

    /// <summary>The init segment a rendition's live media playlist names (its EXT-X-MAP), as a player fetches it.</summary>
    public static async Task<byte[]> InitSegmentAsync(ServerProcess server, string slug, string rendition, string? playlist = null)
    {
        playlist ??= await server.Viewer.GetStringAsync(server.Absolute($"/live/{slug}/{rendition}/index.m3u8"));
        var map = MapUri().Match(playlist);
        if (!map.Success) throw new InvalidDataException($"{slug}/{rendition} names no init segment:{Environment.NewLine}{playlist}");
        return await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{slug}/{rendition}/{map.Groups[1].Value}"));
    }

    [GeneratedRegex("#EXT-X-MAP:URI=\"([^\"]+)\"")]
    private static partial Regex MapUri();
}
