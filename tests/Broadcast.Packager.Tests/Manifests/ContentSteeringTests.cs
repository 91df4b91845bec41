using System.Text.Json;
using System.Xml.Linq;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

public class ContentSteeringTests
{
    internal const string Master = """
        #EXTM3U
        #EXT-X-VERSION:7
        #EXT-X-INDEPENDENT-SEGMENTS
        #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio/index.m3u8"
        #EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="English",LANGUAGE="en",INSTREAM-ID="CC1",DEFAULT=YES,AUTOSELECT=YES
        #EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio",CLOSED-CAPTIONS="cc"
        source/index.m3u8
        #EXT-X-STREAM-INF:BANDWIDTH=900000,AVERAGE-BANDWIDTH=800000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO="audio",CLOSED-CAPTIONS="cc"
        360p/index.m3u8

        """;

    internal static readonly SteeringPathway[] Pathways =
    [
        new("cdn-a", "https://a.example.com"),
        new("cdn-b", "https://b.example.net/prefix/"),
    ];

    [Fact]
    public void The_master_lists_each_pathways_variants_with_its_own_audio_group_and_the_steering_tag()
    {
        string steered = ContentSteering.SteerHlsMaster(Master, "/live/news/", Pathways, "https://steer.example.com/steering/hls");
        string[] lines = steered.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // RFC 8216bis 4.4.6.6: once, with the pathway to use until the first steering manifest.
        Assert.Single(lines, l => l.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal));
        Assert.Contains("#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://steer.example.com/steering/hls\",PATHWAY-ID=\"cdn-a\"", lines);
        Assert.Equal("#EXTM3U", lines[0]);
        Assert.Single(lines, l => l == "#EXT-X-VERSION:7");

        // One audio group per pathway (as the specification's example: a variant names its own pathway's renditions).
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio-cdn-a\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"https://a.example.com/live/news/audio/index.m3u8\"", lines);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio-cdn-b\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"https://b.example.net/prefix/live/news/audio/index.m3u8\"", lines);
        // Captions have no URI: one group for all.
        Assert.Single(lines, l => l.Contains("TYPE=CLOSED-CAPTIONS", StringComparison.Ordinal));

        var variants = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, variants.Length);
        Assert.Equal(["cdn-a", "cdn-a", "cdn-b", "cdn-b"], variants.Select(v => ContentSteering.AttributeValue(v.l, "PATHWAY-ID")));
        Assert.Equal(["audio-cdn-a", "audio-cdn-a", "audio-cdn-b", "audio-cdn-b"], variants.Select(v => ContentSteering.AttributeValue(v.l, "AUDIO")));
        Assert.All(variants, v => Assert.Equal("cc", ContentSteering.AttributeValue(v.l, "CLOSED-CAPTIONS")));
        Assert.Equal(
            ["https://a.example.com/live/news/source/index.m3u8", "https://a.example.com/live/news/360p/index.m3u8",
             "https://b.example.net/prefix/live/news/source/index.m3u8", "https://b.example.net/prefix/live/news/360p/index.m3u8"],
            variants.Select(v => lines[v.i + 1]));
        // Everything else of each variant is kept as written.
        Assert.StartsWith("#EXT-X-STREAM-INF:BANDWIDTH=2800000,AVERAGE-BANDWIDTH=2500000,CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=30.000,", variants[2].l, StringComparison.Ordinal);
    }

    [Fact]
    public void Relative_uris_of_a_recording_resolve_against_the_masters_folder_and_a_token_reaches_every_pathway()
    {
        string master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000,CODECS=\"avc1.64001f\"\n../../source/b1.m3u8\n";
        string steered = ContentSteering.SteerHlsMaster(master, "/live/news/recordings/b1/", Pathways, "/steering/hls", "token=abc%2Bdef");
        Assert.Contains("\nhttps://a.example.com/live/news/source/b1.m3u8?token=abc%2Bdef\n", steered, StringComparison.Ordinal);
        Assert.Contains("\nhttps://b.example.net/prefix/live/news/source/b1.m3u8?token=abc%2Bdef\n", steered, StringComparison.Ordinal);
        Assert.Contains("SERVER-URI=\"/steering/hls\"", steered, StringComparison.Ordinal);
    }

    [Fact]
    public void A_master_that_already_names_a_steering_server_gets_ours_alone()
    {
        string master = "#EXTM3U\n#EXT-X-CONTENT-STEERING:SERVER-URI=\"https://other/\"\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nv.m3u8\n";
        string steered = ContentSteering.SteerHlsMaster(master, "/live/x/", Pathways, "/steering/hls");
        Assert.DoesNotContain("https://other/", steered, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mpd_gets_content_steering_and_a_base_url_per_service_location()
    {
        const string mpd = """
            <?xml version="1.0" encoding="UTF-8"?>
            <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S">
              <Period id="p0" start="PT0S">
                <AdaptationSet id="0" contentType="video"><Representation id="source" bandwidth="1"><SegmentTemplate media="source/$Number$.m4s" initialization="source/init.mp4"/></Representation></AdaptationSet>
              </Period>
            </MPD>

            """;
        string steered = ContentSteering.SteerMpd(mpd, "/live/news/", Pathways, "https://steer.example.com/steering/dash?x=1&y=2");
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        XElement root = XDocument.Parse(steered).Root!;
        XElement steering = Assert.Single(root.Elements(ns + "ContentSteering"));
        Assert.Equal("cdn-a", (string?)steering.Attribute("defaultServiceLocation"));
        Assert.Equal("false", (string?)steering.Attribute("queryBeforeStart"));
        Assert.Equal("https://steer.example.com/steering/dash?x=1&y=2", steering.Value);
        var bases = root.Elements(ns + "BaseURL").ToArray();
        Assert.Equal(["cdn-a", "cdn-b"], bases.Select(b => (string?)b.Attribute("serviceLocation")));
        Assert.Equal(["https://a.example.com/live/news/", "https://b.example.net/prefix/live/news/"], bases.Select(b => b.Value));
        // Before the Period, as the schema orders an MPD's children; the rest unchanged.
        Assert.Equal("ContentSteering", root.Elements().First().Name.LocalName);
        Assert.Equal("Period", root.Elements().Last().Name.LocalName);
        Assert.Contains("media=\"source/$Number$.m4s\"", steered, StringComparison.Ordinal);
    }

    [Fact]
    public void A_private_streams_token_goes_into_the_mpds_templates_and_locations()
    {
        const string mpd = """
            <?xml version="1.0" encoding="UTF-8"?>
            <MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">
              <Period id="p0" start="PT0S">
                <AdaptationSet id="0"><Representation id="source" bandwidth="1"><SegmentTemplate timescale="90000" initialization="$RepresentationID$/b-init.mp4" media="$RepresentationID$/b-$Number$.m4s?x=1"/></Representation></AdaptationSet>
              </Period>
            </MPD>

            """;
        string steered = ContentSteering.SteerMpd(mpd, "/live/news/", Pathways, "https://s/steering/dash", "manifest.mpd", "token=a%2Bb");
        XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        XElement root = XDocument.Parse(steered).Root!;
        XElement template = root.Descendants(ns + "SegmentTemplate").Single();
        Assert.Equal("$RepresentationID$/b-init.mp4?token=a%2Bb", (string?)template.Attribute("initialization"));
        Assert.Equal("$RepresentationID$/b-$Number$.m4s?x=1&token=a%2Bb", (string?)template.Attribute("media"));
        Assert.Equal(["https://a.example.com/live/news/manifest.mpd?token=a%2Bb", "https://b.example.net/prefix/live/news/manifest.mpd?token=a%2Bb"],
            root.Elements(ns + "Location").Select(l => l.Value));
        // Resolved as a player does (RFC 3986): the template's query survives the BaseURL.
        Assert.Equal("https://b.example.net/prefix/live/news/source/b-7.m4s?token=a%2Bb",
            new Uri(new Uri(root.Elements(ns + "BaseURL").Last().Value), "source/b-7.m4s?token=a%2Bb").AbsoluteUri);
    }

    [Fact]
    public void Steering_manifests_carry_the_fields_each_specification_names()
    {
        using var hls = JsonDocument.Parse(ContentSteering.WriteSteeringManifest(SteeringFormat.Hls, 10, "https://s/steering/hls?session=q", ["cdn-b", "cdn-a"]));
        Assert.Equal(1, hls.RootElement.GetProperty("VERSION").GetInt32());
        Assert.Equal(10, hls.RootElement.GetProperty("TTL").GetInt32());
        Assert.Equal("https://s/steering/hls?session=q", hls.RootElement.GetProperty("RELOAD-URI").GetString());
        Assert.Equal(["cdn-b", "cdn-a"], hls.RootElement.GetProperty("PATHWAY-PRIORITY").EnumerateArray().Select(e => e.GetString()));

        using var dash = JsonDocument.Parse(ContentSteering.WriteSteeringManifest(SteeringFormat.Dash, 5, null, ["cdn-a"]));
        Assert.Equal(["cdn-a"], dash.RootElement.GetProperty("SERVICE-LOCATION-PRIORITY").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["cdn-a"], dash.RootElement.GetProperty("PATHWAY-PRIORITY").EnumerateArray().Select(e => e.GetString()));
        Assert.False(dash.RootElement.TryGetProperty("RELOAD-URI", out _));
        Assert.False(hls.RootElement.TryGetProperty("SERVICE-LOCATION-PRIORITY", out _));
    }

    [Theory]
    [InlineData("cdn-a", true)]
    [InlineData("CDN_1.eu", true)]
    [InlineData("", false)]
    [InlineData("a b", false)]
    [InlineData("a\"b", false)]
    [InlineData("é", false)]
    public void Pathway_ids_are_the_characters_the_specification_allows(string id, bool valid) =>
        Assert.Equal(valid, ContentSteering.IsValidPathwayId(id));

    [Fact]
    public void A_pathway_id_longer_than_the_limit_is_refused() =>
        Assert.False(ContentSteering.IsValidPathwayId(new string('a', ContentSteering.MaxPathwayIdLength + 1)));

    [Theory]
    [InlineData("")]
    [InlineData("#EXTM3U\n")]
    [InlineData("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n")]
    [InlineData("#EXTM3U\n#EXT-X-STREAM-INF:\"unterminated\nv.m3u8\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,URI=\"a.m3u8\"\n")]
    public void Damaged_masters_are_rewritten_without_failing(string master)
    {
        string steered = ContentSteering.SteerHlsMaster(master, "/live/x/", Pathways, "/steering/hls");
        Assert.Contains("#EXT-X-CONTENT-STEERING:", steered, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<MPD")]
    [InlineData("not xml at all")]
    public void An_mpd_without_a_root_element_is_left_as_it_is(string mpd) =>
        Assert.Equal(mpd, ContentSteering.SteerMpd(mpd, "/live/x/", Pathways, "https://s/steering/dash"));
}
