using Broadcast.Storage.S3;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Server.Tests.Deployment;

/// <summary>
/// A node whose S3 store cannot be used stops with the one line that names the bucket, endpoint or credentials. The store's
/// check comes before every background service (with the ffmpeg check), so none has started when it fails: the host would otherwise log
/// each one's cancellation as a failure ("BackgroundService failed", "is stopping the host"), two fatal-looking lines
/// that point away from the cause.
/// </summary>
public sealed class StoreStartupFailureTests
{
    [Fact]
    public async Task An_unreachable_store_stops_the_node_before_any_background_service_starts()
    {
        using var data = new TempDirectory("store-startup");
        await using var app = BroadcastApp.Build(
        [
            "--Http:Urls=http://127.0.0.1:0", $"--Rtmp:Port={FreePort.Tcp()}", "--Rtmp:BindAddress=127.0.0.1",
            $"--Storage:Path={data.Combine("media")}", "--Storage:Kind=s3", "--Storage:S3:Bucket=absent",
            "--Storage:S3:ServiceUrl=http://127.0.0.1:1", "--Storage:S3:AccessKey=k", "--Storage:S3:SecretKey=s",
            $"--Storage:Queue:SpillDirectory={data.Combine("spill")}",
            $"--Database:ConnectionString=Data Source={data.Combine("broadcast.db")}",
            $"--Secrets:KeyPath={data.Combine("secret.key")}", "--Admin:Token=store-startup-token-0123456789abcdef0123",
        ]);
        var hosted = app.Services.GetServices<IHostedService>().ToList();
        // The start-up checks (the store's, and ffmpeg's for the parts that need it) come before every background service.
        var beforeBackground = hosted.TakeWhile(h => h is not BackgroundService).Select(h => h.GetType().Name).ToList();
        Assert.Contains("S3StartupCheck", beforeBackground);

        var failure = await Assert.ThrowsAsync<S3StoreUnavailableException>(() => app.StartAsync());
        Assert.Contains("Storage:S3:ServiceUrl", failure.Message, StringComparison.Ordinal);
        Assert.All(hosted.OfType<BackgroundService>(), b => Assert.Null(b.ExecuteTask));
    }
}
