using Broadcast.Media;
using Broadcast.Server;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests;

/// <summary>The real composition root, started in-process on loopback ports with its state in a temp directory.</summary>
internal sealed class InProcessServer : IAsyncDisposable
{
    public const string Token = "server-tests-token-0123456789abcdef";

    /// <summary>The playback node token (<c>Playback:NodeToken</c>) every test server is started with.</summary>
    public const string NodeToken = "server-tests-node-token-0123456789abcdef";

    /// <summary>
    /// The argument that turns the transcoder on (every test server starts with it off): its start probes the encoders,
    /// one ffmpeg run per back-end, so a test that passes it starts a process and is a component test.
    /// </summary>
    public const string TranscoderOn = "--Transcode:Enabled=true";

    private readonly TempDirectory _data;

    private InProcessServer(WebApplication app, TempDirectory data, Uri baseAddress, int rtmpPort)
    {
        App = app;
        _data = data;
        BaseAddress = baseAddress;
        RtmpPort = rtmpPort;
        Http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public int RtmpPort { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => App.Services;

    public static async Task<InProcessServer> StartAsync(params string[] extra)
    {
        // A free port can be taken between the pick and the bind (any process's next ephemeral port): pick again.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnceAsync(extra);
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse && attempt < 3)
            {
            }
        }
    }

    private static async Task<InProcessServer> StartOnceAsync(string[] extra)
    {
        var data = new TempDirectory("server-tests");
        int rtmpPort = FreePort.Tcp();
        var args = new List<string>
        {
            "--Http:Urls=http://127.0.0.1:0",
            $"--Rtmp:Port={rtmpPort}",
            "--Rtmp:BindAddress=127.0.0.1",
            $"--Storage:Path={Path.Combine(data.Path, "media")}",
            $"--Database:ConnectionString=Data Source={Path.Combine(data.Path, "broadcast.db")}",
            $"--Secrets:KeyPath={Path.Combine(data.Path, "secret.key")}",
            $"--Admin:Token={Token}",
            $"--Playback:NodeToken={NodeToken}",
            "--Serilog:MinimumLevel:Default=Warning",
            // The transcoder off unless a test turns it on (TranscoderOn): its start probes the encoders with ffmpeg, and a
            // test that starts a process is a component test (TestKindTests). A test's own arguments come after, and win.
            "--Transcode:Enabled=false",
            TestPasswordHashing.Argument,
        };
        args.AddRange(extra);
        var app = BroadcastApp.Build(args.ToArray());
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            data.Dispose();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new InProcessServer(app, data, new Uri(address), rtmpPort);
    }

    /// <summary>Gives a stream published straight into the hub an H.264 track and <paramref name="frames"/> frames (a keyframe first).</summary>
    public static void FeedVideo(LiveStream stream, int frames = 10)
    {
        var video = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0 }, "avc1.64001f", 1280, 720,
            "High", "3.1", new FrameRate(30, 1));
        stream.SetTrack(video);
        for (int i = 0; i < frames; i++) stream.Write(MediaFrame.Rent(video, i * 3000L, 0, i == 0, new byte[] { 0, 0, 0, 1, 0x65 }));
    }

    public HttpRequestMessage Authorized(HttpMethod method, string path) => WithBearer(method, path, Token);

    /// <summary>Creates a channel through the admin API (201, the visibility asked for) and returns what the tests use of it.</summary>
    public async Task<CreatedChannel> CreateChannelAsync(string name, bool privatePlayback = false)
    {
        using var request = Authorized(HttpMethod.Post, "/api/channels");
        request.Content = System.Net.Http.Json.JsonContent.Create(new { name, privatePlayback });
        using var response = await Http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
        using var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(privatePlayback, root.GetProperty("privatePlayback").GetBoolean());
        return new CreatedChannel(root.GetProperty("id").GetString()!, root.GetProperty("slug").GetString()!, root.GetProperty("streamKey").GetString()!);
    }

    /// <summary>A request with the playback node token, as an origin-only node sends it.</summary>
    public HttpRequestMessage NodeAuthorized(HttpMethod method, string path) => WithBearer(method, path, NodeToken);

    private static HttpRequestMessage WithBearer(HttpMethod method, string path, string token)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _data.Dispose();
    }
}

/// <summary>A channel a test created: its id, slug and stream key.</summary>
internal sealed record CreatedChannel(string Id, string Slug, string StreamKey);
