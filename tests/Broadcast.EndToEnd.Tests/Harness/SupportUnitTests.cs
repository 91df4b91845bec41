using System.Text.Json.Nodes;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>Pure tests of the small helpers: no processes.</summary>
public sealed class SupportUnitTests
{
    [Fact]
    public void Ring_buffer_keeps_the_last_lines_in_order_and_counts_the_dropped()
    {
        var ring = new LineRingBuffer(3);
        foreach (var l in new[] { "a", "b", "c", "d", "e" })
        {
            ring.Add(l);
        }

        Assert.Equal(["c", "d", "e"], ring.Last(10));
        Assert.Equal(["d", "e"], ring.Last(2));
        Assert.Equal(5, ring.TotalLines);
        Assert.True(ring.Contains("D"));
        Assert.False(ring.Contains("a"));
        Assert.StartsWith("... (2 earlier lines not shown)", ring.Tail(), StringComparison.Ordinal);
    }

    [Fact]
    public void Collection_order_starts_the_shared_servers_then_the_longest_classes_and_leaves_the_rest_after()
    {
        var chat = typeof(Chat.ChatBrowserTests).FullName;
        Assert.Equal(0, LongestFirstCollectionOrderer.RankOf(Server.ServerCollection.Name));
        Assert.Equal(2, LongestFirstCollectionOrderer.RankOf(Server.RealTimeServerCollection.Name));
        Assert.Equal(3, LongestFirstCollectionOrderer.RankOf($"Test collection for {chat}"));
        Assert.Equal(3, LongestFirstCollectionOrderer.RankOf($"Test collection for {chat} (id: 0123abcd)"));
        var rest = LongestFirstCollectionOrderer.LongestFirst.Length;
        Assert.Equal(rest, LongestFirstCollectionOrderer.RankOf($"Test collection for {chat}Extra"));
        Assert.Equal(rest, LongestFirstCollectionOrderer.RankOf("storage"));
        Assert.Equal(rest, LongestFirstCollectionOrderer.RankOf($"Test collection for {typeof(SupportUnitTests).FullName}"));
    }

    [Fact]
    public async Task WaitFor_returns_once_the_condition_holds()
    {
        var calls = 0;
        await WaitFor.ConditionAsync(() => ++calls >= 3, TimeSpan.FromSeconds(10), "third call", pollInterval: TimeSpan.FromMilliseconds(1));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task WaitFor_timeout_names_the_wait_the_last_error_and_the_diagnostics()
    {
        var e = await Assert.ThrowsAsync<TimeoutException>(() => WaitFor.ConditionAsync(
            new Func<Task<bool>>(() => throw new InvalidOperationException("connection refused")),
            TimeSpan.FromMilliseconds(100),
            "the server to answer",
            () => "LOG TAIL HERE",
            TimeSpan.FromMilliseconds(10)));
        Assert.Contains("the server to answer", e.Message, StringComparison.Ordinal);
        Assert.Contains("connection refused", e.Message, StringComparison.Ordinal);
        Assert.Contains("LOG TAIL HERE", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitFor_stops_at_once_on_a_condition_that_can_never_hold()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAsync<ConditionFailedException>(() => WaitFor.ConditionAsync(
            new Func<Task<bool>>(() => throw new ConditionFailedException("process exited")), TimeSpan.FromMinutes(5), "never"));
        Assert.True(sw.Elapsed < TimeSpan.FromMinutes(1));
    }

    [Fact]
    public void Channel_status_reader_follows_the_contract_paths_and_ignores_extra_fields()
    {
        var json = JsonNode.Parse("""
            {"id":7,"name":"Main","slug":"main","extra":{"x":1},
             "live":{"online":true,"video":{"codec":"h264","codecString":"avc1.64001e","width":640,"height":360,"frameRate":30,"bframes":false},
                       "audio":{"codec":"aac","codecString":"mp4a.40.2","sampleRate":48000,"channels":2},
                       "videoFrames":300,"audioFrames":469,"bitrate":512000.5,"fps":29.97,"keyframeIntervalMs":2000}}
            """);
        var s = ChannelStatusPaths.ReadStatus(json);
        Assert.Equal(true, s.Live);
        Assert.Equal("h264", s.VideoCodec);
        Assert.Equal("avc1.64001e", s.VideoCodecString);
        Assert.Equal(640, s.Width);
        Assert.Equal(360, s.Height);
        Assert.Equal(30, s.FrameRate);
        Assert.Equal("aac", s.AudioCodec);
        Assert.Equal(48000, s.SampleRate);
        Assert.Equal(2, s.Channels);
        Assert.Equal(300, s.VideoFrames);
        Assert.Equal(469, s.AudioFrames);
        Assert.Equal(2000, s.KeyframeIntervalMs);
        Assert.Equal("7", ChannelStatusPaths.String(json, ChannelStatusPaths.Id));
    }

    [Fact]
    public void Channel_status_reader_reads_missing_fields_as_null()
    {
        var s = ChannelStatusPaths.ReadStatus(JsonNode.Parse("""{"id":"a","live":false}"""));
        Assert.Equal(false, s.Live);
        Assert.Null(s.VideoCodec);
        Assert.Null(s.Width);
        Assert.Null(s.VideoFrames);
    }

    [Fact]
    public void Channel_status_reader_accepts_live_as_an_online_object()
    {
        Assert.Equal(true, ChannelStatusPaths.ReadStatus(JsonNode.Parse("""{"id":"a","live":{"online":true,"viewers":3}}""")).Live);
        Assert.Equal(false, ChannelStatusPaths.ReadStatus(JsonNode.Parse("""{"id":"a","live":{"online":false}}""")).Live);
    }

    [Fact]
    public void Channel_reader_requires_id_and_stream_key()
    {
        var c = ChannelStatusPaths.ReadChannel(JsonNode.Parse("""{"id":"c1","name":"n","slug":"s","streamKey":"k","hlsUrl":"/live/s/master.m3u8"}"""));
        Assert.Equal(new ChannelInfo("c1", "n", "s", "k", null, "/live/s/master.m3u8", null), c);
        Assert.Throws<FormatException>(() => ChannelStatusPaths.ReadChannel(JsonNode.Parse("""{"id":"c1"}""")));
    }

    [Fact]
    public void Server_arguments_carry_every_contract_switch()
    {
        var args = ServerProcess.Arguments("/tmp/d", 1935, "http://127.0.0.1:8080", "tok", 2, "/bin/x");
        Assert.Contains("--Rtmp:Port=1935", args);
        Assert.Contains("--Http:Urls=http://127.0.0.1:8080", args);
        Assert.Contains("--Urls=http://127.0.0.1:8080", args);
        Assert.Contains("--Storage:Path=/tmp/d/media", args);
        Assert.Contains("--Database:ConnectionString=Data Source=/tmp/d/broadcast.db", args);
        Assert.Contains("--Admin:Token=tok", args);
        Assert.Contains("--Packager:SegmentSeconds=2", args);
    }

    [Fact]
    public void Ffprobe_rates_parse_fractions()
    {
        Assert.Equal(30, FfProbe.Rate("30/1"));
        Assert.Equal(30000.0 / 1001, FfProbe.Rate("30000/1001"));
        Assert.Equal(0, FfProbe.Rate("0/0"));
        Assert.Equal(25, FfProbe.Rate("25"));
    }

    [Fact]
    public async Task External_process_passes_arguments_verbatim_and_reports_exit_code()
    {
        var r = await ExternalProcess.RunAsync("printf", ["%s|%s", "a b \"c\"", "$HOME"], TimeSpan.FromSeconds(30));
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("a b \"c\"|$HOME", r.StandardOutput.TrimEnd('\n'));
        var fail = await ExternalProcess.RunAsync("sh", ["-c", "echo oops >&2; exit 3"], TimeSpan.FromSeconds(30));
        Assert.Equal(3, fail.ExitCode);
        Assert.Contains("oops", fail.OutputTail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task External_process_dispose_kills_the_whole_tree()
    {
        var p = ExternalProcess.Start("sh", ["-c", "sleep 300 & echo child $!; wait"]);
        await WaitFor.ConditionAsync(() => p.Output.Contains("child "), TimeSpan.FromSeconds(30), "the child pid");
        var childPid = int.Parse(p.Output.Last(1)[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        p.Dispose();
        await WaitFor.ConditionAsync(() => !Directory.Exists($"/proc/{childPid}") || File.ReadAllText($"/proc/{childPid}/stat").Contains(") Z ", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), $"grandchild {childPid} to die");
    }

    [Fact]
    public async Task External_process_wait_times_out_with_the_output_tail()
    {
        using var p = ExternalProcess.Start("sh", ["-c", "echo still-here; sleep 300"]);
        await WaitFor.ConditionAsync(() => p.Output.Contains("still-here"), TimeSpan.FromSeconds(30), "output");
        var e = await Assert.ThrowsAsync<TimeoutException>(() => p.WaitForExitAsync(TimeSpan.FromMilliseconds(200)));
        Assert.Contains("still-here", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Free_port_is_bindable_and_not_listening()
    {
        var port = FreePort.Tcp();
        Assert.InRange(port, 1, 65535);
        Assert.False(await FreePort.IsListeningAsync(port));
    }
}
