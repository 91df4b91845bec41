using System.Globalization;
using System.Text.Json;
using Broadcast.Storage;
using Broadcast.Storage.S3;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// S3 end-to-end tests: several server processes, s3rver, ffmpeg, Chromium and nginx each. They run one after
/// another and alone (DisableParallelization), after the parallel collections, so the 2-core machine is not
/// shared with another server test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StorageCollection : ICollectionFixture<StorageFixture>
{
    public const string Name = "storage";
}

public sealed class StorageFixture : IAsyncLifetime
{
    private Task<BrowserHost>? _browser;

    /// <summary>20 s publish (the budget), the same clip the playback tests use so it is generated once.</summary>
    public static readonly ClipSpec Clip = new() { Seconds = 20, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    public Task<BrowserHost> BrowserAsync()
    {
        lock (this)
        {
            return _browser ??= BrowserHost.StartAsync();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_browser is { IsCompletedSuccessfully: true }) await (await _browser).DisposeAsync();
    }
}

/// <summary>Starting ingest and origin nodes on one bucket, and reading the bucket directly.</summary>
public static class S3Nodes
{
    /// <summary>The Storage:* switches for s3rver at <paramref name="url"/>.</summary>
    public static IReadOnlyList<string> StorageArguments(string url, string bucket, bool createBucket) =>
    [
        "--Storage:Kind=s3",
        $"--Storage:S3:ServiceUrl={url}",
        $"--Storage:S3:Bucket={bucket}",
        $"--Storage:S3:AccessKey={S3TestServer.AccessKey}",
        $"--Storage:S3:SecretKey={S3TestServer.SecretKey}",
        "--Storage:S3:ForcePathStyle=true",
        $"--Storage:S3:CreateBucket={createBucket.ToString().ToLowerInvariant()}",
        // s3rver stores aws-chunked framing as object bytes (DESIGN.md): a test-config switch only.
        "--Storage:S3:UseChunkEncoding=false",
        "--Storage:S3:RequestTimeout=00:00:03",
        "--Storage:Queue:MaxRetryDelay=00:00:01",
    ];

    /// <summary>An ingest + control node (and origin when asked) writing to the bucket, with recording on or off.</summary>
    public static Task<ServerProcess> StartIngestAsync(string url, string bucket, bool alsoOrigin = false, bool record = false,
        params string[] extraArguments) =>
        ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                alsoOrigin ? "--Roles=ingest,control,origin" : "--Roles=ingest,control",
                .. StorageArguments(url, bucket, createBucket: true),
                $"--Packager:RecordByDefault={record.ToString().ToLowerInvariant()}",
                .. extraArguments,
            ],
        });

    /// <summary>
    /// An origin-only node on the bucket. Its request log is on (ASP.NET Core's hosting diagnostics: one
    /// "Request starting" line per request), so tests can count what reached it.
    /// </summary>
    public static Task<ServerProcess> StartOriginAsync(string url, string bucket, params string[] extraArguments) =>
        ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Roles=origin",
                "--Playback:PublicOnly=true", // no private channels in these tests: no control node to poll
                .. StorageArguments(url, bucket, createBucket: false),
                "--Logging:Requests=true",
                .. extraArguments,
            ],
        });

    /// <summary>A store on the same bucket, to check what the nodes uploaded.</summary>
    public static S3SegmentStore Bucket(string url, string bucket) => new(new S3StoreOptions
    {
        ServiceUrl = url,
        Bucket = bucket,
        AccessKey = S3TestServer.AccessKey,
        SecretKey = S3TestServer.SecretKey,
        ForcePathStyle = true,
        UseChunkEncoding = false,
        RequestTimeout = TimeSpan.FromSeconds(5),
    });

    public static async Task<List<string>> ListAsync(ISegmentStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var key in store.ListAsync(prefix, default)) keys.Add(key);
        return keys;
    }

    /// <summary>The ingest node's upload backlog (GET /status/store).</summary>
    public static async Task<UploadBacklogStatus> BacklogAsync(ServerProcess ingest)
    {
        var json = await ingest.Viewer.GetStringAsync("status/store");
        return JsonSerializer.Deserialize<UploadBacklogStatus>(json, new JsonSerializerOptions(JsonSerializerDefaults.Web))
            ?? throw new FormatException($"status/store: {json}");
    }

    /// <summary>URIs of the media segments a media playlist names, and its EXT-X-MEDIA-SEQUENCE.</summary>
    public static (long MediaSequence, List<string> Segments) ParsePlaylist(string text)
    {
        long sequence = 0;
        var segments = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))
                sequence = long.Parse(line["#EXT-X-MEDIA-SEQUENCE:".Length..], CultureInfo.InvariantCulture);
            else if (line.Length > 0 && !line.StartsWith('#'))
                segments.Add(line);
        }

        return (sequence, segments);
    }

    /// <summary>The number in "{broadcastId}-{number}.m4s".</summary>
    public static long SegmentNumber(string uri)
    {
        var name = uri[(uri.LastIndexOf('/') + 1)..];
        return long.Parse(name[(name.LastIndexOf('-') + 1)..name.IndexOf('.', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
    }
}
