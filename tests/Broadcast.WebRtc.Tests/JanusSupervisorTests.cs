using System.Text.Json.Nodes;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Rtp;
using Broadcast.WebRtc.Sdp;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>The real Janus (Debian's janus 1.1.2) run by our supervisor with the generated configuration, driven through our HTTP API client.</summary>
[Trait("Kind", "Component")]
public sealed class JanusSupervisorTests
{
    [Fact]
    public async Task Janus_starts_with_only_nosip_and_videoroom_and_answers_a_chromium_offer_through_nosip()
    {
        using var directory = new TempDirectory("janus-config");
        var options = new JanusOptions { ConfigDirectory = directory.Path };
        await using var supervisor = new JanusSupervisor(Options.Create(options), NullLogger<JanusSupervisor>.Instance);
        var session = await supervisor.GetSessionAsync(CancellationToken.None);

        // Only what WHEP and the room need is loaded; the files holding the API secret (also VideoRoom's admin key) are the user's alone.
        var files = new JanusConfigFiles(options, directory.Path);
        Assert.Equal([JanusConfigFiles.NoSipPlugin, JanusConfigFiles.VideoRoomPlugin], Directory.GetFiles(files.PluginsFolder).Select(Path.GetFileName).Order());
        string videoRoom = Path.Combine(directory.Path, "janus.plugin.videoroom.jcfg");
        Assert.Contains("lock_rtp_forward = true", File.ReadAllText(videoRoom), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(videoRoom));
        Assert.Equal([JanusConfigFiles.HttpTransport], Directory.GetFiles(files.TransportsFolder).Select(Path.GetFileName));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files.MainFile));
        Assert.Contains("ip = \"127.0.0.1\"", File.ReadAllText(Path.Combine(directory.Path, "janus.transport.http.jcfg")), StringComparison.Ordinal);

        long handle = await session.AttachAsync("janus.plugin.nosip", CancellationToken.None);
        var generated = await session.MessageAsync(handle, new JsonObject { ["request"] = "generate" },
            new JsonObject { ["type"] = "offer", ["sdp"] = SdpSamples.ChromiumOffer }, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("generated", (string?)generated.Data["result"]?["event"]);
        Assert.True(SessionDescription.TryParse((string)generated.Data["result"]!["sdp"]!, out var plain, out string error), error);
        using var viewer = RtpViewer.Bind();
        Assert.True(NoSipAnswer.TryBuild(plain, viewer.Port, 66, out string answer, out var plan, out error), error);
        Assert.Equal("127.0.0.1", plan.JanusAddress);

        var processed = await session.MessageAsync(handle, new JsonObject { ["request"] = "process", ["type"] = "answer", ["sdp"] = answer },
            null, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("processed", (string?)processed.Data["result"]?["event"]);
        Assert.Equal("answer", (string?)processed.Jsep?["type"]);
        string webrtc = (string)processed.Jsep!["sdp"]!;
        // The viewer's answer: DTLS fingerprint, ICE candidates gathered before answering (no trickle), our codecs, send-only.
        Assert.Contains("a=fingerprint:sha-256", webrtc, StringComparison.Ordinal);
        Assert.Contains("a=candidate:", webrtc, StringComparison.Ordinal);
        Assert.Contains("a=rtpmap:108 H264/90000", webrtc, StringComparison.Ordinal);
        Assert.Contains("a=sendonly", webrtc, StringComparison.Ordinal);

        await session.DetachAsync(handle, CancellationToken.None);
        await Assert.ThrowsAsync<JanusApiException>(() => session.MessageAsync(handle, new JsonObject { ["request"] = "hangup" }, null, TimeSpan.FromSeconds(5), CancellationToken.None));

        await supervisor.StopAsync(CancellationToken.None);
        await session.Ended.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task VideoRoom_creates_rooms_and_rtp_forwarders_only_with_the_admin_key()
    {
        using var directory = new TempDirectory("janus-config");
        var options = new JanusOptions { ConfigDirectory = directory.Path };
        await using var supervisor = new JanusSupervisor(Options.Create(options), NullLogger<JanusSupervisor>.Instance);
        var session = await supervisor.GetSessionAsync(CancellationToken.None);
        long handle = await session.AttachAsync("janus.plugin.videoroom", CancellationToken.None);
        var create = new JsonObject { ["request"] = "create", ["room"] = 4242, ["is_private"] = true, ["permanent"] = false };

        // No static rooms, and none made without the key: only our server (which holds it) opens a room.
        var list = await session.MessageAsync(handle, new JsonObject { ["request"] = "list" }, null, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Empty(list.Data["list"]!.AsArray());
        var refused = await Assert.ThrowsAsync<JanusApiException>(() => session.MessageAsync(handle, create.DeepClone().AsObject(), null, TimeSpan.FromSeconds(10), CancellationToken.None));
        Assert.Contains("admin_key", refused.Message, StringComparison.Ordinal);

        var keyed = create.DeepClone().AsObject();
        keyed["admin_key"] = session.AdminKey;
        var created = await session.MessageAsync(handle, keyed, null, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal("created", (string?)created.Data["videoroom"]);

        // Forwarding a room's media elsewhere needs the key too.
        var forward = new JsonObject { ["request"] = "rtp_forward", ["room"] = 4242, ["publisher_id"] = 1, ["host"] = "127.0.0.1", ["streams"] = new JsonArray() };
        await Assert.ThrowsAsync<JanusApiException>(() => session.MessageAsync(handle, forward, null, TimeSpan.FromSeconds(10), CancellationToken.None));
        await session.DetachAsync(handle, CancellationToken.None);
    }

    [Fact]
    public async Task With_start_on_first_viewer_off_janus_starts_with_the_server()
    {
        using var directory = new TempDirectory("janus-config");
        var options = new JanusOptions { ConfigDirectory = directory.Path, StartOnFirstViewer = false };
        await using var supervisor = new JanusSupervisor(Options.Create(options), NullLogger<JanusSupervisor>.Instance);
        Assert.False(supervisor.IsReady);
        await supervisor.StartAsync(CancellationToken.None);
        // Nobody asked for a session: Janus comes up all the same.
        await WaitFor.ConditionAsync(() => supervisor.IsReady, TimeSpan.FromSeconds(30), "Janus to answer without a viewer asking");
        Assert.True(File.Exists(new JanusConfigFiles(options, directory.Path).MainFile));
    }

    [Fact]
    public async Task A_janus_that_dies_is_restarted_and_its_old_session_is_reported_lost()
    {
        using var directory = new TempDirectory("janus-config");
        var options = new JanusOptions { ConfigDirectory = directory.Path };
        await using var supervisor = new JanusSupervisor(Options.Create(options), NullLogger<JanusSupervisor>.Instance);
        var lost = new TaskCompletionSource<IJanusSession>(TaskCreationOptions.RunContinuationsAsynchronously);
        supervisor.Lost += session => lost.TrySetResult(session);
        var first = await supervisor.GetSessionAsync(CancellationToken.None);
        int pid = supervisor.ProcessId;
        Assert.NotEqual(0, pid);

        System.Diagnostics.Process.GetProcessById(pid).Kill();
        Assert.Same(first, await lost.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        // The restart waits its backoff (1 s), then a new Janus with a new secret and a new session.
        await WaitFor.ConditionAsync(() => supervisor.IsReady && supervisor.ProcessId != pid, TimeSpan.FromSeconds(30), "Janus to be restarted");
        var second = await supervisor.GetSessionAsync(CancellationToken.None);
        Assert.NotSame(first, second);
        long handle = await second.AttachAsync("janus.plugin.nosip", CancellationToken.None);
        await second.DetachAsync(handle, CancellationToken.None);
    }

    [Fact]
    public async Task A_stop_while_a_dead_janus_waits_for_its_restart_completes_quietly()
    {
        // A host's stop (systemd, docker) signals the whole process group at once: Janus dies a moment before the server
        // stops its supervisor, whose loop is then waiting out the restart backoff. That stop must not throw (it aborted
        // the server's shutdown with an unhandled TaskCanceledException).
        using var directory = new TempDirectory("janus-config");
        var options = new JanusOptions { ConfigDirectory = directory.Path };
        var restartLogged = new RestartLogged();
        await using var supervisor = new JanusSupervisor(Options.Create(options), restartLogged);
        await supervisor.GetSessionAsync(CancellationToken.None);
        int pid = supervisor.ProcessId;

        System.Diagnostics.Process.GetProcessById(pid).Kill();
        // Logged as the backoff wait (1 s) begins.
        await restartLogged.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await supervisor.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(supervisor.IsReady);
        await supervisor.DisposeAsync();
    }

    [Theory]
    [InlineData(System.Runtime.InteropServices.Architecture.X64, "/usr/lib/x86_64-linux-gnu/janus")]
    [InlineData(System.Runtime.InteropServices.Architecture.Arm64, "/usr/lib/aarch64-linux-gnu/janus")]
    public void Janus_modules_are_found_in_debians_folder_for_the_architecture(System.Runtime.InteropServices.Architecture architecture, string folder)
    {
        Assert.Equal(folder, JanusOptions.DebianLibraryDirectory(architecture));
        // The default is this machine's, where `./test.sh` installed the janus package.
        Assert.True(Directory.Exists(Path.Combine(new JanusOptions().LibraryDirectory, "plugins")), new JanusOptions().LibraryDirectory);
    }

    [Fact]
    public void Settings_are_quoted_for_libconfig_and_control_characters_refused()
    {
        Assert.Equal("\"a\\\"b\\\\c\"", JanusConfigFiles.Quote("a\"b\\c"));
        Assert.Throws<ArgumentException>(() => JanusConfigFiles.Quote("a\nb"));
        var files = new JanusConfigFiles(new JanusOptions { IceLite = true, PublicAddress = "203.0.113.7", IceEnforceList = "eth0", StunServer = "stun.example.net:3478" }, "/tmp/x");
        string main = files.Main("secret");
        Assert.Contains("ice_lite = true", main, StringComparison.Ordinal);
        Assert.Contains("nat_1_1_mapping = \"203.0.113.7\"", main, StringComparison.Ordinal);
        Assert.Contains("ice_enforce_list = \"eth0\"", main, StringComparison.Ordinal);
        // Janus takes an enforce list alone and warns at every start about an ignore list beside it.
        Assert.DoesNotContain("ice_ignore_list", main, StringComparison.Ordinal);
        Assert.Contains("ice_ignore_list = \"vmnet,docker,veth\"", new JanusConfigFiles(new JanusOptions(), "/tmp/x").Main("secret"), StringComparison.Ordinal);
        Assert.Contains("stun_server = \"stun.example.net\"\n  stun_port = 3478", main, StringComparison.Ordinal);
        Assert.Contains("api_secret = \"secret\"", main, StringComparison.Ordinal);
        Assert.DoesNotContain("keep_private_host", main, StringComparison.Ordinal);
        // Behind a 1:1 NAT with a TURN server on the private network: the private host candidates stay beside the public one.
        var both = new JanusConfigFiles(new JanusOptions { PublicAddress = "203.0.113.7", KeepPrivateHost = true }, "/tmp/x").Main("secret");
        Assert.Contains("nat_1_1_mapping = \"203.0.113.7\"\n  keep_private_host = true", both, StringComparison.Ordinal);
    }

    /// <summary>Completes when the supervisor logs a restart (event 8003): its loop is then in the backoff wait.</summary>
    private sealed class RestartLogged : Microsoft.Extensions.Logging.ILogger<JanusSupervisor>
    {
        private readonly TaskCompletionSource _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Task => _logged.Task;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
            Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 8003) _logged.TrySetResult();
        }
    }
}
