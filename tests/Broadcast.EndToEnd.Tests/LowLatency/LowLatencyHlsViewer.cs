using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Storage;

namespace Broadcast.EndToEnd.Tests.LowLatency;

/// <summary>
/// A viewer at the live edge of a low-latency media playlist, as hls.js and Shaka follow it (RFC 8216bis 6.2.5): a
/// blocking reload for the part after the newest listed (<c>_HLS_msn</c>, <c>_HLS_part</c>, <c>_HLS_skip=YES</c>), then a
/// GET of each part the answer newly lists; with <see cref="AsksForHint"/> also the EXT-X-PRELOAD-HINT part as soon as it
/// is named, before it exists (Shaka does). It records when it learnt of each part and when it had the part's bytes,
/// on one shared <see cref="Stopwatch"/>, so viewers of one run compare.
/// </summary>
internal sealed partial class LowLatencyHlsViewer(HttpClient http, Uri playlist, bool asksForHint, Stopwatch clock)
{
    public bool AsksForHint { get; } = asksForHint;

    /// <summary>Part URI → when a reload's answer first listed it.</summary>
    public ConcurrentDictionary<string, TimeSpan> Learnt { get; } = new(StringComparer.Ordinal);

    /// <summary>Part URI → when its bytes had arrived.</summary>
    public ConcurrentDictionary<string, TimeSpan> Received { get; } = new(StringComparer.Ordinal);

    /// <summary>X-Cache-Status of each part answered, counted ("HIT", "MISS", "none" without the header).</summary>
    public ConcurrentDictionary<string, int> PartCacheStatus { get; } = new(StringComparer.Ordinal);

    public int Failures;

    public async Task RunAsync(TimeSpan until, CancellationToken cancellationToken)
    {
        var fetches = new List<Task>();
        var asked = new HashSet<string>(StringComparer.Ordinal);
        Position? position = null;
        while (clock.Elapsed < until && !cancellationToken.IsCancellationRequested)
        {
            var url = position is { } p
                ? new Uri(playlist, string.Create(CultureInfo.InvariantCulture, $"{playlist.AbsolutePath}?_HLS_msn={p.NextMsn}&_HLS_part={p.NextPart}&_HLS_skip=YES"))
                : playlist;
            string text;
            try
            {
                using var response = await http.GetAsync(url, cancellationToken);
                text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref Failures); await Task.Delay(100, cancellationToken); continue; }
            }
            catch (HttpRequestException)
            {
                Interlocked.Increment(ref Failures);
                await Task.Delay(100, cancellationToken);
                continue;
            }
            var at = clock.Elapsed;
            var parsed = Parse(text);
            foreach (var part in parsed.Parts)
            {
                // The first answer lists parts from before the viewer came: learnt, not on time, so not counted.
                if (position is not null) Learnt.TryAdd(part, at);
                if (asked.Add(part) && position is not null) fetches.Add(FetchAsync(part, cancellationToken));
            }
            if (AsksForHint && parsed.Hint is { } hint && asked.Add(hint)) fetches.Add(FetchAsync(hint, cancellationToken));
            position = parsed.Position;
        }
        await Task.WhenAll(fetches);
    }

    private async Task FetchAsync(string part, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(playlist, part), cancellationToken);
            await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode) { Interlocked.Increment(ref Failures); return; }
            Received.TryAdd(part, clock.Elapsed);
            string cache = EdgeNginx.CacheStatus(response);
            PartCacheStatus.AddOrUpdate(cache, 1, (_, n) => n + 1);
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref Failures);
        }
    }

    internal readonly record struct Position(long NextMsn, int NextPart);

    internal sealed record Playlist(IReadOnlyList<string> Parts, string? Hint, Position Position);

    /// <summary>The parts a media playlist lists, its preload hint and the next part to block for.</summary>
    internal static Playlist Parse(string text)
    {
        long msn = 0;
        int partIndex = 0;
        int lastPart = -1;
        long lastPartMsn = -1;
        string? hint = null;
        var parts = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))
                msn += long.Parse(line.AsSpan("#EXT-X-MEDIA-SEQUENCE:".Length), CultureInfo.InvariantCulture);
            else if (line.StartsWith("#EXT-X-SKIP:", StringComparison.Ordinal))
                msn += long.Parse(Skipped().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
            else if (line.StartsWith("#EXT-X-PART:", StringComparison.Ordinal))
            {
                parts.Add(Uri().Match(line).Groups[1].Value);
                lastPart = partIndex++;
                lastPartMsn = msn;
            }
            else if (line.StartsWith("#EXT-X-PRELOAD-HINT:", StringComparison.Ordinal))
                hint = Uri().Match(line).Groups[1].Value;
            else if (line.Length > 0 && !line.StartsWith('#'))
            {
                // A segment's URI line closes it: the parts after it belong to the next.
                msn++;
                partIndex = 0;
            }
        }
        var next = lastPartMsn == msn ? new Position(msn, lastPart + 1) : new Position(msn, 0);
        return new Playlist(parts, hint, next);
    }

    [GeneratedRegex("URI=\"([^\"]+)\"")]
    private static partial Regex Uri();

    [GeneratedRegex("SKIPPED-SEGMENTS=([0-9]+)")]
    private static partial Regex Skipped();
}
