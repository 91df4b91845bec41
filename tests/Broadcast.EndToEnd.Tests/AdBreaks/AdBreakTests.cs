using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media.Scte35;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.AdBreaks;

/// <summary>
/// Ad markers end to end: a break asked for through the API, one an encoder sends as an RTMP onCuePoint, and one on the
/// SCTE-35 PID of an SRT publisher's MPEG-TS appear in every
/// rendition's media playlist as an EXT-X-DATERANGE at a segment boundary (the segment after it starts at the START-DATE)
/// and in the MPD as an SCTE-35 event, while hls.js plays on through the break.
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed class AdBreakTests(ServerFixture fixture)
{
    /// <summary>
    /// Long enough for a break to begin, run 6 s and end (the test that plays it loops it). 480p so the ladder
    /// has a transcoded rung (360p) beside the source and the audio: three media playlists to agree.
    /// </summary>
    private static readonly ClipSpec Clip = new() { Seconds = 50, Width = 854, Height = 480, Fps = 30, VideoBitrateKbps = 800 };

    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task A_break_from_the_api_is_marked_at_a_boundary_in_every_playlist_and_the_mpd_and_hlsjs_plays_through()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"breaks api {Guid.NewGuid():N}");
        // Looped: the players join, the break runs and they play ten seconds past it, which took longer than the clip's
        // 50 s on a loaded CI machine: the broadcast ended under the players, and dash.js was found paused 20 s before
        // where it had been.
        await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 2);
        var hls = PlaybackUrls.Hls(Server, channel);
        await WaitForRenditionsAsync(hls, () => publisher.Log.Tail(15));

        var dash = PlaybackUrls.Dash(Server, channel);
        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await using var dashPlayer = await browser.OpenAsync(PlayerKind.Dash);
        await Task.WhenAll(player.StartAsync(hls.ToString()), dashPlayer.StartAsync(dash.ToString()));
        await Task.WhenAll(player.WaitUntilPlayingAsync(Generous, () => fixture.WithLog("")), dashPlayer.WaitUntilPlayingAsync(Generous, () => fixture.WithLog("")));

        using var asked = await PostJsonAsync($"api/channels/{channel.Id}/breaks", """{"duration":6}""");
        string answer = await asked.Content.ReadAsStringAsync();
        fixture.Check(asked.StatusCode is HttpStatusCode.Created or HttpStatusCode.Accepted, $"POST breaks -> {(int)asked.StatusCode}: {answer}");
        var body = JsonDocument.Parse(answer).RootElement;
        uint id = body.GetProperty("id").GetUInt32();
        fixture.Check(body.GetProperty("duration").GetDecimal() == 6m, $"answer {answer}");
        using (var again = await PostJsonAsync($"api/channels/{channel.Id}/breaks", """{"duration":6}"""))
            fixture.Check(again.StatusCode == HttpStatusCode.Conflict, $"a second break while one runs -> {(int)again.StatusCode}");
        using (var bad = await PostJsonAsync($"api/channels/{channel.Id}/breaks", """{"duration":"soon"}"""))
            fixture.Check(bad.StatusCode == HttpStatusCode.BadRequest, $"a bad duration -> {(int)bad.StatusCode}");

        var marks = await WaitForMarksAsync(hls, id, TimeSpan.FromSeconds(6));
        if (body.TryGetProperty("start", out var start))
            fixture.Check(start.GetDateTimeOffset() == marks.StartDate, $"the answer's start {start} is not the playlists' START-DATE {marks.StartDate:O}");
        await WaitForMpdEventAsync(dash, id);

        // A real client reads it so: hls.js takes the DATERANGE as valid (the OUT and IN tags agree) and anchors it to a
        // segment whose program date is its START-DATE, so the break starts where that segment starts, and it sees the
        // return once the break has ended.
        HlsDateRange? range = null;
        await WaitFor.ConditionAsync(async () => (range = await player.GetHlsDateRangeAsync($"splice-{id}")) is { Scte35In: true },
            Generous, $"hls.js to read splice-{id} with its SCTE35-IN", () => fixture.WithLog($"hls.js: {range}"));
        fixture.Check(range!.Valid && range.Scte35Out && range.AnchorDate == range.StartDate && range.AnchorStart is { } anchor
            && Math.Abs(range.StartTime - anchor) < 0.001, $"hls.js reads the break as {range}");
        fixture.Check(range.StartDate == marks.StartDate.ToUnixTimeMilliseconds(), $"hls.js start {range.StartDate}, playlists {marks.StartDate:O}");

        // hls.js (and dash.js, reading the MPD's EventStream) play on through the break and past its end: ten more seconds
        // of media each, no fatal error.
        await Task.WhenAll(PlaysOnAsync(player, "hls.js"), PlaysOnAsync(dashPlayer, "dash.js"));
    }

    private async Task PlaysOnAsync(BrowserPlayer player, string name)
    {
        double from = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(from + 10, Generous, () => fixture.WithLog(name));
        var fatal = await player.GetFatalErrorsAsync();
        fixture.Check(fatal.Count == 0, $"{name} fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
    }

    [Fact]
    public async Task An_rtmp_cue_point_from_the_encoder_is_marked_the_same_way()
    {
        var clip = await TestMedia.GetClipAsync(Clip with { Container = ClipContainer.Flv });
        var channel = await Server.Api.CreateChannelAsync($"breaks cue {Guid.NewGuid():N}");
        await using var publisher = await PacedRtmpPublisher.StartAsync(clip, Server.RtmpPort, channel.StreamKey);
        var hls = PlaybackUrls.Hls(Server, channel);
        await WaitForRenditionsAsync(hls, () => $"frames sent: {publisher.Sent}");

        // YouTube's cue point form (what OBS plug-ins and OvenMediaEngine send): a 6 s break with a 1 s pre-roll.
        var cue = new Broadcast.Ingest.Rtmp.AmfObject
        {
            ["type"] = RtmpCuePoint.YouTubeType, ["version"] = "0.1", ["pre_roll_time_sec"] = 1.0, ["cue_point_start"] = true,
            ["break_duration_sec"] = 6.0, ["splice_event_id"] = 4242.0,
        };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await publisher.SendAsync(new RtmpDataMessage(RtmpCuePoint.OnCuePoint, [cue]), timeout.Token);

        await WaitForMarksAsync(hls, 4242, TimeSpan.FromSeconds(6));
        await WaitForMpdEventAsync(PlaybackUrls.Dash(Server, channel), 4242);
    }

    [Fact]
    public async Task An_scte35_splice_insert_over_srt_is_marked_the_same_way()
    {
        // A broadcast encoder's TS: the clip remuxed by ffmpeg, its PMT listing a splice PID, and 15 s in a splice_insert
        // announcing a 6 s break 2 s ahead, split across two packets, after a splice_null heartbeat.
        var (channel, hls, breakOut, publisher) = await PublishSrtWithSpliceAsync(Clip, 5151, spliceAfterFirstPicture: null);
        await using var _ = publisher;
        var marks = await WaitForMarksAsync(hls, 5151, TimeSpan.FromSeconds(6));
        fixture.Check(string.Equals(marks.OutSection, Convert.ToHexString(breakOut.ToArray()), StringComparison.OrdinalIgnoreCase), $"SCTE35-OUT {marks.OutSection} is not the encoder's section");
        await WaitForMpdEventAsync(PlaybackUrls.Dash(Server, channel), 5151);
    }

    /// <summary>
    /// An encoder that conditions its splice, as SCTE-35 encoders do: an IDR at the splice time (here 16.4 s, between its
    /// regular keyframes at 16 and 18.4 s), one at the return 6 s later, and a splice_insert with that time. The break
    /// starts exactly there, not at the next regular boundary: the source and the transcoded rung (which takes the
    /// source's keyframes) both cut a short segment before that IDR, the break's segment starts with it, and the break
    /// lasts exactly its 6 s.
    /// </summary>
    [Fact]
    public async Task An_scte35_splice_at_an_idr_the_encoder_put_there_starts_the_break_exactly_there()
    {
        var (channel, hls, _, publisher) = await PublishSrtWithSpliceAsync(Clip with { ExtraKeyframes = "16.4,22.4" }, 5252, spliceAfterFirstPicture: 16.4m);
        await using var _ = publisher;
        await WaitForMarksAsync(hls, 5252, TimeSpan.FromSeconds(6));
        foreach (var uri in (await MediaPlaylistsAsync(hls)).Where(u => !u.AbsolutePath.Contains("/audio/", StringComparison.Ordinal)))
        {
            // The segment before the break runs from the 16 s keyframe to the splice IDR: 0.4 s. Without the cut it would
            // have run on to 18.4 s, and the break started there, 2 s late.
            string text = await Server.Viewer.GetStringAsync(uri);
            var lines = text.Split('\n');
            int mark = Array.FindIndex(lines, l => l.StartsWith("#EXT-X-DATERANGE:ID=\"splice-5252\"", StringComparison.Ordinal));
            int before = Array.FindLastIndex(lines, mark, l => l.StartsWith("#EXTINF:", StringComparison.Ordinal));
            fixture.Check(before >= 0 && lines[before] == "#EXTINF:0.400,", $"{uri}: the segment before the break is {(before >= 0 ? lines[before] : "missing")}:{Environment.NewLine}{text}");
        }
        string returned = "";
        await WaitFor.ConditionAsync(async () =>
            {
                returned = await Server.Viewer.GetStringAsync((await MediaPlaylistsAsync(hls))[0]);
                return returned.Contains("SCTE35-IN=", StringComparison.Ordinal);
            },
            Generous, "the break's return in the playlist", () => fixture.WithLog(returned));
        string back = returned.Split('\n').Single(l => l.StartsWith("#EXT-X-DATERANGE:ID=\"splice-5252\"", StringComparison.Ordinal) && l.Contains("SCTE35-IN=", StringComparison.Ordinal));
        fixture.Check(back.Contains(",DURATION=6.000,", StringComparison.Ordinal), $"the return: {back}");
    }

    /// <summary>
    /// Publishes <paramref name="clip"/> over SRT as a broadcast encoder's TS: remuxed by ffmpeg, its PMT listing a splice
    /// PID, and 15 s in a splice_null heartbeat and then a splice_insert for a 6 s break (split across two packets) at
    /// <paramref name="spliceAfterFirstPicture"/> seconds after the first picture, or 2 s after the packet it rides in.
    /// </summary>
    private async Task<(ChannelInfo Channel, Uri Hls, SpliceInfoSection BreakOut, SrtPublisher Publisher)> PublishSrtWithSpliceAsync(
        ClipSpec clip, uint id, decimal? spliceAfterFirstPicture)
    {
        var source = await TestMedia.GetClipAsync(clip);
        using var dir = new TempDirectory();
        string remuxed = dir.Combine("clip.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", source, "-c", "copy", "-f", "mpegts", remuxed);
        var writer = new Scte35TsWriter();
        var ts = writer.WithSplicePid(await File.ReadAllBytesAsync(remuxed));
        var (packet, pts) = TsVideoPes.From(ts, 15 * 90_000);
        long spliceTime = spliceAfterFirstPicture is { } after ? TsVideoPes.From(ts, 0).Pts + (long)(after * 90_000) : pts + 2 * 90_000;
        var breakOut = new SpliceInfoSection
        {
            CommandType = SpliceCommandType.SpliceInsert,
            Insert = new SpliceInsert { EventId = id, OutOfNetwork = true, PtsTime = spliceTime, BreakDuration = 6 * 90_000, AutoReturn = true },
        };
        byte[] sections = [.. writer.Packets(new SpliceInfoSection { CommandType = SpliceCommandType.SpliceNull }), .. writer.Packets(breakOut, firstChunk: 16)];

        var channel = await Server.Api.CreateChannelAsync($"breaks srt {Guid.NewGuid():N}");
        var publisher = SrtPublisher.StartPacedTs(Scte35TsWriter.Insert(ts, packet + 1, sections), channel.SrtUrl!);
        var hls = PlaybackUrls.Hls(Server, channel);
        try
        {
            await WaitForRenditionsAsync(hls, () => publisher.Log.Tail(15));
        }
        catch
        {
            await publisher.DisposeAsync();
            throw;
        }
        return (channel, hls, breakOut, publisher);
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string json) =>
        await Server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Every media playlist the master names (the video variants and the audio rendition).</summary>
    private async Task<IReadOnlyList<Uri>> MediaPlaylistsAsync(Uri master)
    {
        string text = await Server.Viewer.GetStringAsync(master);
        var uris = new List<Uri>();
        foreach (var line in text.Split('\n').Select(l => l.Trim()))
        {
            if (line.Length > 0 && !line.StartsWith('#')) uris.Add(new Uri(master, line));
            int at = line.IndexOf("URI=\"", StringComparison.Ordinal);
            if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal) && at >= 0)
                uris.Add(new Uri(master, line[(at + 5)..line.IndexOf('"', at + 5)]));
        }
        return uris;
    }

    private async Task WaitForRenditionsAsync(Uri master, Func<string> publisherLog) =>
        await WaitFor.ConditionAsync(async () =>
            {
                using var r = await Server.Viewer.GetAsync(master);
                return r.IsSuccessStatusCode && (await MediaPlaylistsAsync(master)).Count >= 3;
            },
            Generous, $"{master} to list its renditions (source, a transcoded rung, audio)", () => fixture.WithLog($"publisher:{Environment.NewLine}{publisherLog()}"));

    /// <summary>
    /// Waits until every media playlist marks break <paramref name="id"/> at a segment boundary, and returns what the
    /// marks say (the same in every playlist).
    /// </summary>
    private async Task<BreakMark> WaitForMarksAsync(Uri master, uint id, TimeSpan planned)
    {
        BreakMark? found = null;
        var last = new Dictionary<Uri, string>();
        await WaitFor.ConditionAsync(async () =>
            {
                var playlists = await MediaPlaylistsAsync(master);
                var marks = new List<BreakMark>();
                foreach (var uri in playlists)
                {
                    string text = await Server.Viewer.GetStringAsync(uri);
                    last[uri] = text;
                    if (BreakMark.Find(text, id, audio: uri.AbsolutePath.Contains("/audio/", StringComparison.Ordinal)) is not { } mark) return false;
                    marks.Add(mark);
                }
                // One break, one START-DATE and one section everywhere (RFC 8216 §4.3.2.7).
                if (marks.Select(m => (m.StartDate, m.OutSection)).Distinct().Count() != 1)
                    throw new ConditionFailedException($"the renditions disagree: {string.Join("; ", marks)}");
                found = marks[0];
                return true;
            },
            Generous, $"every media playlist of {master} to mark break {id} at a segment boundary",
            () => fixture.WithLog(string.Join(Environment.NewLine, last.Select(kv => $"{kv.Key}:{Environment.NewLine}{kv.Value}"))));

        // The SCTE35-OUT attribute is a real splice_insert leaving the network for the planned time.
        var outBytes = Convert.FromHexString(found!.OutSection);
        fixture.Check(SpliceInfoSection.TryRead(outBytes, out var section, out _, out var error), $"SCTE35-OUT does not read: {error}");
        fixture.Check(section!.Insert is { OutOfNetwork: true } insert && insert.EventId == id
            && insert.BreakDuration == (long)planned.TotalMilliseconds * 90, $"SCTE35-OUT is {section}");
        return found;
    }

    private async Task WaitForMpdEventAsync(Uri mpd, uint id)
    {
        string text = "";
        await WaitFor.ConditionAsync(async () =>
            {
                text = await Server.Viewer.GetStringAsync(mpd);
                int stream = text.IndexOf("<EventStream schemeIdUri=\"urn:scte:scte35:2014:xml+bin\"", StringComparison.Ordinal);
                return stream >= 0 && text.IndexOf($" id=\"{id}\">", stream, StringComparison.Ordinal) > stream;
            },
            Generous, $"{mpd} to carry break {id} as an SCTE-35 event", () => fixture.WithLog(text));
        var doc = System.Xml.Linq.XDocument.Parse(text);
        fixture.Check(doc.Root!.Name.LocalName == "MPD", "the MPD with an event is not well-formed XML");
    }

    /// <summary>Break <c>splice-{id}</c>'s SCTE35-OUT DATERANGE in one media playlist, checked to sit at a segment boundary.</summary>
    private sealed record BreakMark(DateTimeOffset StartDate, string OutSection, string Segment)
    {
        /// <summary>
        /// Null while the playlist does not mark the break. Once it does, the DATERANGE must be followed by its CUE-OUT, the
        /// segment's PROGRAM-DATE-TIME equal to START-DATE (audio: within a frame, its cuts land on the sample grid), EXTINF
        /// and the segment's URI: the break begins exactly where that segment begins.
        /// </summary>
        public static BreakMark? Find(string playlist, uint id, bool audio)
        {
            var lines = playlist.Split('\n');
            int at = Array.FindIndex(lines, l => l.StartsWith($"#EXT-X-DATERANGE:ID=\"splice-{id}\"", StringComparison.Ordinal) && l.Contains("SCTE35-OUT=0x", StringComparison.Ordinal));
            if (at < 0) return null;
            string Attribute(string name)
            {
                int i = lines[at].IndexOf(name + "=", StringComparison.Ordinal) + name.Length + 1;
                int end = lines[at].IndexOf(',', i);
                return (end < 0 ? lines[at][i..] : lines[at][i..end]).Trim('"');
            }
            var startDate = DateTimeOffset.Parse(Attribute("START-DATE"), CultureInfo.InvariantCulture);
            if (at + 4 >= lines.Length || !lines[at + 1].StartsWith("#EXT-X-CUE-OUT:DURATION=", StringComparison.Ordinal)
                || !lines[at + 2].StartsWith("#EXT-X-PROGRAM-DATE-TIME:", StringComparison.Ordinal)
                || !lines[at + 3].StartsWith("#EXTINF:", StringComparison.Ordinal) || !lines[at + 4].EndsWith(".m4s", StringComparison.Ordinal))
                throw new ConditionFailedException($"break {id} is not followed by its segment:{Environment.NewLine}{string.Join('\n', lines.Skip(at).Take(5))}");
            var segmentDate = DateTimeOffset.Parse(lines[at + 2]["#EXT-X-PROGRAM-DATE-TIME:".Length..], CultureInfo.InvariantCulture);
            var tolerance = audio ? TimeSpan.FromMilliseconds(25) : TimeSpan.Zero;
            if ((segmentDate - startDate).Duration() > tolerance)
                throw new ConditionFailedException($"break {id} starts at {startDate:O} but its segment {lines[at + 4]} at {segmentDate:O}");
            return new BreakMark(startDate, Attribute("SCTE35-OUT")[2..], lines[at + 4]);
        }
    }
}
