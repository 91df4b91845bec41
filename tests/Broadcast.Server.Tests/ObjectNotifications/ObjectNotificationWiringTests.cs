using Broadcast.Storage;
using Broadcast.Storage.Notifications;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Server.Tests.ObjectNotifications;

/// <summary>Which node notifies and which listens, from the composition root (built, not started: no S3 or PostgreSQL is contacted).</summary>
public sealed class ObjectNotificationWiringTests
{
    private const string Postgres = "Host=127.0.0.1;Port=1;Username=postgres;Database=wiring";

    [Fact]
    public async Task An_ingest_node_on_S3_with_PostgreSQL_notifies_after_each_upload_and_does_not_listen()
    {
        using var data = new TempDirectory("notify-wiring");
        await using var app = BroadcastApp.Build(Args(data, "--Roles=ingest,control", "--Storage:Kind=s3", "--Storage:S3:Bucket=wiring",
            "--Storage:S3:ServiceUrl=http://127.0.0.1:1", $"--Storage:Queue:SpillDirectory={data.Combine("spill")}"));
        var queue = app.Services.GetRequiredService<UploadQueue>();
        Assert.IsType<NotifyingSegmentStore>(queue.Inner);
        Assert.NotNull(app.Services.GetService<StoredObjectNotifier>());
        Assert.Null(app.Services.GetService<StoredObjectListener>());
    }

    [Fact]
    public async Task An_origin_only_node_with_PostgreSQL_listens_and_without_it_does_not()
    {
        using var data = new TempDirectory("notify-wiring");
        await using (var app = BroadcastApp.Build(Args(data, "--Roles=origin", "--Playback:PublicOnly=true")))
        {
            Assert.Contains(app.Services.GetServices<IHostedService>(), s => s is StoredObjectListener);
            Assert.Null(app.Services.GetService<StoredObjectNotifier>());
        }

        await using (var sqlite = BroadcastApp.Build(["--Roles=origin", "--Playback:PublicOnly=true", "--Http:Urls=http://127.0.0.1:0",
            $"--Storage:Path={data.Combine("media")}"]))
        {
            Assert.DoesNotContain(sqlite.Services.GetServices<IHostedService>(), s => s is StoredObjectListener);
        }
    }

    [Fact]
    public async Task An_all_in_one_node_neither_notifies_nor_listens_on_the_filesystem_store()
    {
        using var data = new TempDirectory("notify-wiring");
        await using var app = BroadcastApp.Build(Args(data));
        Assert.Null(app.Services.GetService<StoredObjectNotifier>());
        Assert.Null(app.Services.GetService<StoredObjectListener>());
        Assert.IsNotType<NotifyingSegmentStore>(app.Services.GetRequiredService<ISegmentStore>());
    }

    private static string[] Args(TempDirectory data, params string[] extra) =>
    [
        "--Http:Urls=http://127.0.0.1:0",
        $"--Storage:Path={data.Combine("media")}",
        "--Database:Kind=postgres",
        $"--Database:ConnectionString={Postgres}",
        $"--Secrets:KeyPath={data.Combine("secret.key")}",
        "--Admin:Token=wiring-token-0123456789abcdef0123456789",
        .. extra,
    ];
}
