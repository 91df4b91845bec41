using System.Text;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// A unit test starts no process: it runs in the test host alone, needing no tool installed and no machine's pace. A test
/// class that starts a child (ffmpeg, ffprobe, gst-launch-1.0, Janus, coturn, nginx, psql and pg_ctl, node, Chromium,
/// xmlsec1, a stand-in script), itself or through the harness, is a component test and says so with
/// <c>[Trait("Kind", "Component")]</c>, so that <c>./test.sh --units</c> (<c>--filter "Kind!=Component"</c>) runs the
/// unit tests alone. This reads the unit projects' sources (every tests/Broadcast.*.Tests but the end-to-end one) and
/// holds each test class to it both ways: one that names a process-starting entry point carries the trait, and one that
/// carries it names one. It reads files only: it is a unit test itself.
/// </summary>
public sealed partial class TestKindTests
{
    private const string Trait = "[Trait(\"Kind\", \"Component\")]";

    /// <summary>
    /// The entry points that start a child process, the one list the rule reads: a test class whose code (comments and
    /// string literals aside) names one starts a process. A new helper that starts one belongs here with its reason.
    /// </summary>
    internal static readonly (string Name, string Why)[] ProcessStarters =
    [
        // .NET itself.
        ("Process.Start", "starts whatever it is given"),
        ("ProcessStartInfo", "is only ever made to start a process"),

        // The product's one way to start a child (processes/), and the product parts that run one when a test gives them a
        // real executable (ffmpeg, or a script standing in for it).
        ("SupervisedProcess", "processes/: every ffmpeg and ffprobe of the product"),
        ("JanusSupervisor", "webrtc/: starts Janus (at once, or on the first viewer), and ends a leftover one"),
        ("ImageInput.DecodeAsync", "compositor/: ffmpeg decodes the image"),
        ("NameCard.RenderAsync", "compositor/: ffmpeg draws the card"),
        ("new ProgramPreviews", "compositor/: ffmpeg encodes the previews"),
        ("FfmpegEncoderProbe", "transcoder/: runs ffmpeg to ask a back-end"),
        ("TranscodeSession", "transcoder/: the rungs' ffmpeg"),
        ("ThumbnailBatch", "transcoder/: ffmpeg makes the thumbnails"),
        ("SlateClip", "transcoder/: ffmpeg encodes the slate"),
        ("SegmentTrim", "transcoder/: one ffmpeg run per cut end"),
        ("ClipDownload", "transcoder/: ffmpeg muxes the MP4 download"),
        ("new ThumbnailService", "transcoder/: its batches run ffmpeg"),
        ("FfmpegPath =", "hands a part (WHEP's RTP, thumbnails, pulls, programs) a real ffmpeg, which it starts once it has media"),

        // The shared harness (tests/Broadcast.TestSupport).
        ("ExternalProcess", "the harness's child process"),
        ("MediaTools", "runs a tool (ffmpeg, ffprobe) to its end"),
        ("FfProbe", "ffprobe"),
        ("FrameMd5", "ffmpeg's framemd5 through sh"),
        ("TestMedia.GetClipAsync", "ffmpeg encodes the clip (unless this machine's cache has it)"),
        ("CaptionClip.GetAsync", "ffmpeg encodes the captioned clip"),
        ("CaptionClip.DecodeAsync", "ffmpeg decodes the captions"),
        ("MultitrackRenditionEncoder", "ffmpeg encodes the ladder"),
        ("FfmpegPublisher", "ffmpeg publishes a clip"),
        ("GStreamerPublisher", "gst-launch-1.0 publishes a clip"),
        ("LavfiPublisher", "ffmpeg publishes test patterns"),
        ("SrtPublisher", "ffmpeg publishes over SRT"),
        ("CoturnServer", "turnserver"),
        ("NginxRtmpServer", "nginx"),
        ("PostgresTestCluster", "psql makes each database; initdb and pg_ctl without BROADCAST_TEST_PG"),
        ("S3TestServer", "node runs s3rver (npm ci first)"),
        ("ServerProcess", "the server in a process of its own"),
        ("PlayerAssets", "npm installs the players"),
        ("BrowserPlayer", "Playwright's driver and Chromium"),
        ("Playwright.CreateAsync", "Playwright's driver"),

        // A test project's own helpers that start one.
        ("StoredClipMedia", "Clips.Tests: ffmpeg makes the stored broadcast and reads its frames back"),
        ("ChannelFeed", "Compositor.Tests: ffmpeg publishes a channel into a hub"),
        ("RtpSender", "Compositor.Tests: ffmpeg sends RTP"),
        ("FfmpegPublishTests.RunAsync", "Ingest.Tests: runs ffmpeg or ffprobe to its end"),
        ("RtmpPublishClientTests.DemuxFfmpegClip", "Ingest.Tests: ffmpeg makes the clip"),
        ("InProcessServer.TranscoderOn", "Server.Tests: the transcoder's start probes the encoders with ffmpeg"),
        ("ThumbnailBatchTests.KeyframeAsync", "Transcoder.Tests: ffmpeg makes the clip"),
        ("FlvClipFixture", "Packager.Tests: ffmpeg encodes the clip"),
        ("HevcClipFixture", "Packager.Tests: ffmpeg encodes the HEVC clips"),
        ("TraceHeaders.Read", "Packager.Tests: ffmpeg's trace_headers"),
        ("TraceHeaders.ReadAll", "Packager.Tests: ffmpeg's trace_headers"),
        ("StoreFileFacts.Inode", "Storage.Tests: stat(1)"),
    ];

    [Fact]
    public void A_test_class_that_starts_a_process_is_a_component_test_and_only_such_a_class_is()
    {
        var classes = UnitProjectClasses();
        var problems = new List<string>();
        foreach (var c in classes.Where(c => !c.IsAbstract))
        {
            // A store contract's tests are in its abstract base: each concrete class runs them with what it names.
            var contract = c.Base is { } b ? classes.FirstOrDefault(o => o.Name == b && o.IsAbstract && o.IsTest) : null;
            if (!c.IsTest && contract is null) continue;
            var uses = c.Uses.Concat(contract?.Uses ?? []).Distinct(StringComparer.Ordinal).ToList();
            if (uses.Count > 0 && !c.IsComponent)
                problems.Add($"{c.File}: {c.Name} starts a process ({string.Join(", ", uses)}) and lacks {Trait}");
            if (uses.Count == 0 && c.IsComponent)
                problems.Add($"{c.File}: {c.Name} carries {Trait} and names no entry point that starts a process " +
                    $"(a new one belongs in {nameof(TestKindTests)}.{nameof(ProcessStarters)})");
        }

        foreach (var c in classes.Where(c => c.IsComponent && (c.IsAbstract || (!c.IsTest && !classes.Any(o => o.Name == c.Base && o.IsAbstract && o.IsTest)))))
            problems.Add($"{c.File}: {c.Name} carries {Trait} but is no concrete test class (xunit reads the trait on the class it runs)");

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void The_rule_reads_the_unit_projects()
    {
        var classes = UnitProjectClasses();
        Assert.True(classes.Count(c => c.IsTest) > 300, $"{classes.Count(c => c.IsTest)} test classes in the unit projects: has the layout moved?");
        var coturn = Assert.Single(classes, c => c.Name == "TurnCoturnComponentTests");
        Assert.True(coturn.IsComponent && coturn.Uses.Contains("CoturnServer"), "the coturn tests read as component tests");
        var amf = Assert.Single(classes, c => c.Name == "Amf0Tests");
        Assert.True(amf.IsTest && !amf.IsComponent && amf.Uses.Count == 0, "the AMF tests read as unit tests");
    }

    [Fact]
    public void Comments_and_string_literals_name_nothing()
    {
        const string source = """""
            namespace N;

            /// <summary>Not <see cref="MediaTools"/>, and not [Trait("Kind", "Component")] either.</summary>
            public sealed class A
            {
                [Fact]
                public void F() => Assert.Equal("MediaTools.Run(\"ffmpeg\")", @"Process.Start("""")" + $"{1}ExternalProcess" + 'x'); // FfProbe
            }

            [Trait("Kind", "Component")]
            public sealed class B(PostgresTestCluster cluster) : Contract(cluster);

            /* ServerProcess */
            public abstract class Contract
            {
                [Theory]
                public void G() { var s = "}"; }
            }
            """"";
        var classes = ClassesOf("x.cs", source);
        Assert.Equal(["A", "B", "Contract"], classes.Select(c => c.Name));
        Assert.Empty(classes[0].Uses);
        Assert.False(classes[0].IsComponent);
        Assert.Equal(["PostgresTestCluster"], classes[1].Uses);
        Assert.True(classes[1].IsComponent);
        Assert.Equal("Contract", classes[1].Base);
        Assert.True(classes[2].IsAbstract && classes[2].IsTest);
        Assert.Empty(classes[2].Uses);
    }

    private sealed record TestClass(string File, string Name, bool IsTest, bool IsAbstract, bool IsComponent, string? Base, List<string> Uses);

    private static List<TestClass> UnitProjectClasses() =>
        Directory.GetDirectories(Path.Combine(RepoPaths.Root, "tests"), "Broadcast.*.Tests")
            .Where(d => Path.GetFileName(d) != "Broadcast.EndToEnd.Tests")
            .SelectMany(d => Directory.GetFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !p.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && Path.GetFileName(p) != $"{nameof(TestKindTests)}.cs")
            .Order(StringComparer.Ordinal)
            .SelectMany(p => ClassesOf(Path.GetRelativePath(RepoPaths.Root, p), File.ReadAllText(p)))
            .ToList();

    /// <summary>The classes declared at the top of a file (nested ones are part of theirs), each with the entry points it names.</summary>
    private static List<TestClass> ClassesOf(string file, string source)
    {
        string code = Code(source);
        int top = BlockNamespace().IsMatch(code) ? 1 : 0;
        var classes = new List<TestClass>();
        int depth = 0, declarationStart = 0;
        for (int i = 0; i < code.Length; i++)
        {
            char ch = code[i];
            if (ch == '{')
            {
                if (depth == 0 && top == 1) declarationStart = i + 1;
                depth++;
            }
            else if (ch == '}')
            {
                depth--;
                if (depth == top) declarationStart = i + 1;
            }
            else if (ch == ';' && depth == top)
            {
                declarationStart = i + 1;
            }
            else if (depth == top && ClassKeyword().Match(code, i) is { Success: true } m && m.Index == i && (i == 0 || !char.IsLetterOrDigit(code[i - 1])))
            {
                int end = DeclarationEnd(code, i);
                string header = source[declarationStart..i];
                string text = code[i..end];
                var uses = ProcessStarters.Select(s => s.Name)
                    .Where(n => Regex.IsMatch(text, $@"(?<![\w]){Regex.Escape(n).Replace(@"\ ", @"\s+", StringComparison.Ordinal)}(?!\w)"))
                    .ToList();
                classes.Add(new TestClass(file, m.Groups["name"].Value,
                    IsTest: TestAttribute().IsMatch(text),
                    IsAbstract: Regex.IsMatch(code[declarationStart..i], @"\babstract\b"),
                    IsComponent: ComponentTrait().Matches(header).Any(t => code[declarationStart + t.Index] == '['),
                    Base: BaseClass().Match(text) is { Success: true } b ? b.Groups["base"].Value : null,
                    Uses: uses));
                declarationStart = end;
                i = end - 1;
            }
        }

        return classes;
    }

    /// <summary>Where a class declared at <paramref name="start"/> ends: after its body's closing brace, or its semicolon.</summary>
    private static int DeclarationEnd(string code, int start)
    {
        int depth = 0;
        for (int i = start; i < code.Length; i++)
        {
            if (code[i] == ';' && depth == 0) return i + 1;
            if (code[i] == '{') depth++;
            if (code[i] == '}' && --depth == 0) return i + 1;
        }

        return code.Length;
    }

    /// <summary>
    /// The source with comments and the contents of string and character literals blanked (same length, same lines), so
    /// that what is left is code: a name in a doc comment or a message is no use of it.
    /// </summary>
    private static string Code(string source)
    {
        var code = new StringBuilder(source);
        void Blank(int from, int to)
        {
            for (int k = from; k < to && k < code.Length; k++) if (code[k] != '\n') code[k] = ' ';
        }

        int i = 0;
        while (i < source.Length)
        {
            char c = source[i];
            char next = i + 1 < source.Length ? source[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                int end = source.IndexOf('\n', i);
                end = end < 0 ? source.Length : end;
                Blank(i, end);
                i = end;
            }
            else if (c == '/' && next == '*')
            {
                int end = source.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? source.Length : end + 2;
                Blank(i, end);
                i = end;
            }
            else if (c == '\'')
            {
                int end = i + 1;
                while (end < source.Length && source[end] != '\'') end += source[end] == '\\' ? 2 : 1;
                Blank(i, end + 1);
                i = end + 1;
            }
            else if (c == '"' || ((c == '@' || c == '$') && (next == '"' || next == '@' || next == '$')))
            {
                int start = i;
                bool verbatim = false;
                while (source[i] is '@' or '$')
                {
                    verbatim |= source[i] == '@';
                    i++;
                }

                int quotes = 0;
                while (i + quotes < source.Length && source[i + quotes] == '"') quotes++;
                int end;
                if (quotes >= 3)
                {
                    string fence = new('"', quotes);
                    end = source.IndexOf(fence, i + quotes, StringComparison.Ordinal);
                    end = end < 0 ? source.Length : end + quotes;
                }
                else if (quotes == 2)
                {
                    end = i + 2;
                }
                else
                {
                    end = i + 1;
                    while (end < source.Length)
                    {
                        if (verbatim && source[end] == '"' && end + 1 < source.Length && source[end + 1] == '"') end += 2;
                        else if (!verbatim && source[end] == '\\') end += 2;
                        else if (source[end] == '"') break;
                        else end++;
                    }

                    end++;
                }

                Blank(start, end);
                i = end;
            }
            else
            {
                i++;
            }
        }

        return code.ToString();
    }

    [GeneratedRegex(@"\Gclass\s+(?<name>\w+)")]
    private static partial Regex ClassKeyword();

    [GeneratedRegex(@"^\s*namespace\s+[\w.]+\s*\{", RegexOptions.Multiline)]
    private static partial Regex BlockNamespace();

    [GeneratedRegex(@"\[\s*(Fact|Theory)\b")]
    private static partial Regex TestAttribute();

    [GeneratedRegex(@"\[\s*Trait\s*\(\s*""Kind""\s*,\s*""Component""\s*\)\s*\]")]
    private static partial Regex ComponentTrait();

    [GeneratedRegex(@"^class\s+\w+\s*(<[^>]*>)?\s*(\([^)]*\))?\s*:\s*(?<base>\w+)")]
    private static partial Regex BaseClass();
}
