using System.Buffers.Binary;
using System.Globalization;
using System.Xml.Linq;
using Broadcast.Soak;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests;

/// <summary>A media playlist as read: its text, the soak's view of it and each segment's EXTINF.</summary>
public sealed record AlternateAudioPlaylist(string Text, MediaPlaylistView View, IReadOnlyList<(PlaylistEntry Entry, double Seconds)> Segments);

/// <summary>What <see cref="AudioRenditionChecks.ToneAsync"/> found in an audio rendition's newest segments.</summary>
internal sealed record AudioToneCheck(string Streams, bool IsOneAacStream, double OwnLevel, double OtherLevel, string Levels)
{
    /// <summary>
    /// The own tone dominates the other by ten times in energy, and is loud at all: lavfi's sine is 1/8 of full scale, and a
    /// rendition of silence must not pass on a ratio of two tiny numbers.
    /// </summary>
    public bool OwnToneDominates => OwnLevel > 0.03 && OwnLevel * OwnLevel >= 10 * OtherLevel * OtherLevel;
}

/// <summary>
/// Checks shared by the alternate audio tests (SRT languages, RTMP multitrack audio): the manifests' audio renditions and
/// the tone each rendition's segments carry, so both publish paths are judged by one reading of the manifests.
/// </summary>
internal static class AudioRenditionChecks
{
    internal static readonly XNamespace Dash = "urn:mpeg:dash:schema:mpd:2011";

    internal const string RoleScheme = "urn:mpeg:dash:role:2011";

    internal static List<XElement> AudioSets(XDocument mpd) =>
        mpd.Descendants(Dash + "AdaptationSet").Where(a => (string?)a.Attribute("contentType") == "audio").ToList();

    /// <summary>The values of an AdaptationSet's Roles in the DASH role scheme.</summary>
    internal static List<string?> Roles(XElement set) =>
        set.Elements(Dash + "Role").Where(r => (string?)r.Attribute("schemeIdUri") == RoleScheme).Select(r => (string?)r.Attribute("value")).ToList();

    /// <summary>The attribute lists (RFC 8216 section 4.2) of every line starting with <paramref name="tag"/>, quotes removed.</summary>
    internal static List<Dictionary<string, string>> Tags(string playlist, string tag) =>
        playlist.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.StartsWith(tag, StringComparison.Ordinal))
            .Select(l => Attributes(l[tag.Length..])).ToList();

    /// <summary>The master's EXT-X-MEDIA TYPE=AUDIO lines, in order.</summary>
    internal static List<Dictionary<string, string>> AudioMedia(string master) =>
        Tags(master, "#EXT-X-MEDIA:").Where(a => a.GetValueOrDefault("TYPE") == "AUDIO").ToList();

    /// <summary>
    /// Waits (40 s at most) until <paramref name="rendition"/>'s playlist, at <paramref name="url"/> of "rendition/index.m3u8",
    /// names its init segment and lists <paramref name="segments"/> segments; a timeout shows the last answer through
    /// <paramref name="describe"/>.
    /// </summary>
    /// <summary>The live MPD (parsed, and its text) once it holds two audio AdaptationSets; <paramref name="published"/> says what was sent.</summary>
    internal static async Task<(XDocument Mpd, string Text)> TwoAudioSetsAsync(HttpClient viewer, Uri mpdUrl, string published,
        Func<string, string> describe)
    {
        string text = "";
        XDocument? mpd = null;
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await viewer.GetAsync(mpdUrl);
            text = await r.Content.ReadAsStringAsync();
            if (!r.IsSuccessStatusCode) return false;
            mpd = XDocument.Parse(text);
            return AudioSets(mpd).Count >= 2;
        }, TimeSpan.FromSeconds(30), $"{mpdUrl} to hold two audio AdaptationSets ({published} published)",
            () => describe($"--- manifest.mpd ---{Environment.NewLine}{text}"), TimeSpan.FromMilliseconds(500));
        return (mpd!, text);
    }

    internal static async Task<AlternateAudioPlaylist> PlaylistAsync(HttpClient viewer, Func<string, Uri> url, string rendition, int segments,
        Func<string, string> describe)
    {
        AlternateAudioPlaylist? read = null;
        string last = "(no answer)";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await viewer.GetAsync(url($"{rendition}/index.m3u8"));
            string text = await r.Content.ReadAsStringAsync();
            last = $"{(int)r.StatusCode} {text}";
            if (!r.IsSuccessStatusCode) return false;
            if (!MediaPlaylistView.TryParse(text, out var view, out _) || view.InitUri is null || view.Entries.Count < segments) return false;
            var seconds = text.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal))
                .Select(l => double.Parse(l[8..].Split(',')[0], CultureInfo.InvariantCulture)).ToList();
            if (seconds.Count != view.Entries.Count) return false;
            read = new AlternateAudioPlaylist(text, view, view.Entries.Zip(seconds).ToList());
            return true;
        }, TimeSpan.FromSeconds(40), $"{rendition}/index.m3u8 to list {segments} segments", () => describe($"last answer: {last}"),
            TimeSpan.FromMilliseconds(500));
        return read!;
    }

    /// <summary>
    /// Why <paramref name="rendition"/>'s segments are not cut where the video's are (null when they are): at least two of
    /// its segments fall in the video playlist's range, and each of those has a video segment of the same broadcast and
    /// number lasting as long (within an AAC frame plus rounding), so a player that switches audio fetches the segment of
    /// the same number and stays where it was. Read the audio first: the video playlist, read after, has caught up.
    /// </summary>
    internal static string? CutMismatch(string rendition, AlternateAudioPlaylist audio, AlternateAudioPlaylist video)
    {
        string context = $"{Environment.NewLine}--- {rendition}/index.m3u8 ---{Environment.NewLine}{audio.Text}{Environment.NewLine}"
            + $"--- video index.m3u8 ---{Environment.NewLine}{video.Text}";
        var videoSegments = video.Segments.ToDictionary(s => (s.Entry.BroadcastId, s.Entry.Number));
        long first = video.Segments[0].Entry.Number, last = video.Segments[^1].Entry.Number;
        var shared = audio.Segments.Where(s => s.Entry.Number >= first && s.Entry.Number <= last).ToList();
        if (shared.Count < 2) return $"{rendition} and the video list fewer than two segments of the same numbers{context}";
        foreach (var (entry, seconds) in shared)
        {
            if (!videoSegments.TryGetValue((entry.BroadcastId, entry.Number), out var cut))
                return $"{rendition} lists {entry.Uri}, which the video does not{context}";
            if (Math.Abs(cut.Seconds - seconds) > 0.05)
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"{rendition} segment {entry.Number} lasts {seconds:0.000} s, the video's {cut.Seconds:0.000} s{context}");
            }
        }
        return null;
    }

    /// <summary>
    /// Downloads <paramref name="rendition"/>'s init segment and its newest three segments (<paramref name="view"/> is its
    /// playlist), probes them and decodes them to mono 48 kHz PCM, and measures its own tone against the other's.
    /// </summary>
    internal static async Task<AudioToneCheck> ToneAsync(HttpClient viewer, Func<string, Uri> url, string rendition, MediaPlaylistView view,
        int own, int other)
    {
        using var dir = new TempDirectory("audio-tone");
        string file = dir.Combine($"{rendition}.mp4");
        await using (var output = File.Create(file))
        {
            foreach (var uri in new[] { view.InitUri! }.Concat(view.Entries.TakeLast(3).Select(e => e.Uri)))
                await output.WriteAsync(await viewer.GetByteArrayAsync(url($"{rendition}/{uri}")));
        }

        var probe = await FfProbe.ProbeAsync(file);
        string streams = string.Join(", ", probe.Streams.Select(s => $"{s.CodecType} {s.CodecName}"));
        bool oneAac = probe.Streams.Count == 1 && probe.Streams[0] is { CodecType: "audio", CodecName: "aac" };
        byte[] pcm = await Programs.ProgramOutput.DecodeAsync(["-i", file, "-f", "s16le", "-ac", "1", "-ar", "48000", "-"]);
        double ownLevel = Amplitude(pcm, own), otherLevel = Amplitude(pcm, other);
        string levels = string.Create(CultureInfo.InvariantCulture,
            $"{rendition} ({pcm.Length / 96_000.0:0.00} s decoded, ffprobe [{streams}]): {own} Hz at {ownLevel:0.0000}, "
            + $"{other} Hz at {otherLevel:0.0000} of full scale");
        return new AudioToneCheck(streams, oneAac, ownLevel, otherLevel, levels);
    }

    private static Dictionary<string, string> Attributes(string list)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        int i = 0;
        while (i < list.Length)
        {
            int eq = list.IndexOf('=', i);
            if (eq < 0) break;
            string name = list[i..eq].Trim();
            int end;
            if (eq + 1 < list.Length && list[eq + 1] == '"')
            {
                // A quoted string may hold commas (CODECS): it ends at its closing quote, not at the next comma.
                int close = list.IndexOf('"', eq + 2);
                if (close < 0) close = list.Length;
                attributes[name] = list[(eq + 2)..close];
                end = close + 1;
            }
            else
            {
                end = list.IndexOf(',', eq + 1);
                if (end < 0) end = list.Length;
                attributes[name] = list[(eq + 1)..end];
            }

            i = end + 1;
        }

        return attributes;
    }

    /// <summary>The Goertzel magnitude of <paramref name="hz"/> in mono 16-bit 48 kHz PCM, relative to a full-scale sine.</summary>
    private static double Amplitude(byte[] pcm, double hz)
    {
        int n = pcm.Length / 2;
        double coefficient = 2 * Math.Cos(2 * Math.PI * hz / 48_000), previous = 0, beforePrevious = 0;
        for (int i = 0; i < n; i++)
        {
            double current = (BinaryPrimitives.ReadInt16LittleEndian(pcm.AsSpan(i * 2)) / 32768.0) + (coefficient * previous) - beforePrevious;
            beforePrevious = previous;
            previous = current;
        }

        double power = (previous * previous) + (beforePrevious * beforePrevious) - (coefficient * previous * beforePrevious);
        return n == 0 ? 0 : 2 * Math.Sqrt(Math.Max(0, power)) / n;
    }
}

/// <summary>
/// The alternate audio tests keep an encoder busy for their whole fixture (an x264 encode over SRT, or a multitrack
/// ladder encoded up front): they run alone, after the parallel tests, so the 2-core machine is not shared with a
/// timing-bound test (beside them, the transcoder's restart test lost its rungs' last segments, 2 runs of 2).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AudioRenditionsCollection
{
    public const string Name = "audio renditions";
}

/// <summary>
/// A server of its own, one channel and one publish into it with two audio renditions, shared by every test of an
/// alternate audio class: the manifests' waits are asked once, so the tests share the wait (and its failure, with the
/// manifest as it stood) rather than each waiting its own. Each publish path (SRT languages, RTMP multitrack audio) says
/// how it starts its server and publisher.
/// </summary>
public abstract class AudioRenditionsFixture : IAsyncLifetime
{
    private readonly object _gate = new();
    private ServerProcess? _server;
    private ChannelInfo? _channel;
    private Task<string>? _alternateMaster;
    private Task<(XDocument, string)>? _alternateMpd;
    private Task<BrowserHost>? _browser;

    public ServerProcess Server => _server ?? throw new InvalidOperationException("Server not started.");

    protected ChannelInfo Channel => _channel ?? throw new InvalidOperationException("Channel not created.");

    public Uri Master => PlaybackUrls.Hls(Server, Channel);

    public Uri Mpd => PlaybackUrls.Dash(Server, Channel);

    /// <summary>A URL relative to the channel's master playlist (a rendition's playlist or segment).</summary>
    public Uri Url(string relative) => new(Master, relative);

    /// <summary>What was published, for a failure's message ("eng and fra PIDs").</summary>
    protected abstract string Published { get; }

    /// <summary>The publisher's state or output, for a failure's message.</summary>
    protected abstract string PublisherTail();

    /// <summary>Starts the server (<see cref="StartServerAsync"/>) and the publish.</summary>
    public abstract Task InitializeAsync();

    /// <summary>Stops the publisher; the base then stops the browser and the server.</summary>
    protected abstract ValueTask StopPublisherAsync();

    public string Describe(string message) =>
        $"{message}{Environment.NewLine}--- publisher ---{Environment.NewLine}{PublisherTail()}"
        + $"{Environment.NewLine}--- server log tail ---{Environment.NewLine}{_server?.LogTail(80) ?? "(server not started)"}";

    /// <summary>The fixture's browser, started on first use.</summary>
    public Task<BrowserHost> BrowserAsync()
    {
        lock (_gate) return _browser ??= BrowserHost.StartAsync();
    }

    /// <summary>The master once it lists two audio renditions and the video playlist three segments; asked once.</summary>
    public Task<string> AlternateMasterAsync()
    {
        lock (_gate) return _alternateMaster ??= WaitForAlternateMasterAsync();
    }

    /// <summary>The live MPD (parsed, and its text) once it holds two audio AdaptationSets; asked once as the master is.</summary>
    public Task<(XDocument Mpd, string Text)> AlternateMpdAsync()
    {
        lock (_gate) return _alternateMpd ??= WaitForAlternateMpdAsync();
    }

    /// <summary>Waits until <paramref name="rendition"/>'s playlist names its init segment and lists <paramref name="segments"/> segments.</summary>
    public Task<AlternateAudioPlaylist> PlaylistAsync(string rendition, int segments) =>
        AudioRenditionChecks.PlaylistAsync(Server.Viewer, Url, rendition, segments, Describe);

    /// <summary>Waits (60 s at most) until the master answers and <paramref name="ready"/> holds for it; returns it.</summary>
    protected async Task<string> WaitForMasterAsync(Func<string, bool> ready, string what)
    {
        string master = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await Server.Viewer.GetAsync(Master);
            master = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : $"({(int)r.StatusCode})";
            return r.IsSuccessStatusCode && ready(master);
        }, TimeSpan.FromSeconds(60), $"{Master} {what}", () => Describe($"--- master.m3u8 ---{Environment.NewLine}{master}"),
            TimeSpan.FromMilliseconds(500));
        return master;
    }

    protected async Task StartServerAsync(ServerOptions options, string channelName)
    {
        _server = await ServerProcess.StartAsync(options);
        _channel = await Server.Api.CreateChannelAsync($"{channelName} {Guid.NewGuid():N}");
    }

    public async Task DisposeAsync()
    {
        await StopPublisherAsync();
        if (_browser is { IsCompletedSuccessfully: true }) await (await _browser).DisposeAsync();
        if (_server is not null) await _server.DisposeAsync();
    }

    private async Task<string> WaitForAlternateMasterAsync()
    {
        string master = await WaitForMasterAsync(m => AudioRenditionChecks.AudioMedia(m).Count >= 2,
            $"to list two EXT-X-MEDIA TYPE=AUDIO renditions ({Published} published)");
        await PlaylistAsync("source", 3);
        return master;
    }

    private async Task<(XDocument, string)> WaitForAlternateMpdAsync()
    {
        await AlternateMasterAsync();
        return await AudioRenditionChecks.TwoAudioSetsAsync(Server.Viewer, Mpd, Published, Describe);
    }
}
