using System.Diagnostics;
using System.Text;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Faults;

/// <summary>
/// SIGTERM with live streams: every live manifest ends cleanly (HLS EXT-X-ENDLIST, a static MPD), every segment the
/// final playlists name is in the store (for S3: uploaded before exit), and the process exits 0 in time. Own servers:
/// the test ends them.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class ShutdownTests
{
    /// <summary>The host's shutdown timeout (25 s) plus the upload flush (10 s), and some slack for this loaded machine.</summary>
    private static readonly TimeSpan ExitBound = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Sigterm_ends_every_live_manifest_on_the_filesystem_store_and_exits_0()
    {
        await using var server = await ServerProcess.StartAsync();
        var slugs = await PublishAndTerminateAsync(server, channels: 2);
        await AssertFinalAsync(new FileSystemSegmentStore(server.MediaDirectory), slugs, server.LogTail);
    }

    [Fact]
    public async Task Sigterm_finishes_pending_uploads_to_S3_and_ends_every_live_manifest_in_the_bucket()
    {
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("sigterm");
        await using var server = await S3Nodes.StartIngestAsync(url, bucket, alsoOrigin: true);
        var slugs = await PublishAndTerminateAsync(server, channels: 2);
        using var store = S3Nodes.Bucket(url, bucket);
        await AssertFinalAsync(store, slugs, server.LogTail);
    }

    private static async Task<List<string>> PublishAndTerminateAsync(ServerProcess server, int channels)
    {
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var slugs = new List<string>();
        var publishers = new List<LavfiPublisher>();
        try
        {
            for (int i = 0; i < channels; i++)
            {
                var channel = await server.Api.CreateChannelAsync($"sigterm {i} {Guid.NewGuid():N}");
                slugs.Add(channel.Slug);
                publishers.Add(LavfiPublisher.Start(server.RtmpUrl(channel.StreamKey)));
            }

            foreach (var slug in slugs)
                await Fault.WaitForAdvanceAsync(server.Viewer, slug, 0, 2, TimeSpan.FromSeconds(60), () => Log(""));

            // Publishers still pushing when the signal arrives.
            Assert.All(publishers, p => Assert.False(p.HasExited, p.Log.Tail(10)));
            var clock = Stopwatch.StartNew();
            await Fault.SignalAsync(server.ProcessId, "TERM");
            int code = await server.WaitForExitAsync(ExitBound);
            Assert.True(code == 0, Log($"exit code {code} after SIGTERM"));
            Assert.True(clock.Elapsed < ExitBound, $"{clock.Elapsed}");
            return slugs;
        }
        finally
        {
            foreach (var p in publishers) await p.DisposeAsync();
        }
    }

    private static async Task AssertFinalAsync(ISegmentStore store, List<string> slugs, Func<int, string> logTail)
    {
        foreach (var slug in slugs)
        {
            foreach (var rendition in new[] { "source", "audio" })
            {
                var playlist = await store.GetAsync($"{slug}/{rendition}/index.m3u8", default);
                Assert.True(playlist is not null, $"{slug}/{rendition}/index.m3u8 missing{Environment.NewLine}{logTail(80)}");
                string text = Encoding.UTF8.GetString(playlist.Data.Span);
                Assert.True(text.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal), $"{slug}/{rendition} not ended:{Environment.NewLine}{text}{Environment.NewLine}{logTail(80)}");
                var (_, segments) = S3Nodes.ParsePlaylist(text);
                Assert.NotEmpty(segments);
                foreach (var segment in segments)
                    Assert.True(await store.GetAsync($"{slug}/{rendition}/{segment}", default) is not null,
                        $"{slug}/{rendition}/{segment} named by the final playlist is not in the store{Environment.NewLine}{text}{Environment.NewLine}{logTail(80)}");
            }

            var mpd = await store.GetAsync($"{slug}/manifest.mpd", default);
            Assert.True(mpd is not null, $"{slug}/manifest.mpd missing");
            string mpdText = Encoding.UTF8.GetString(mpd.Data.Span);
            Assert.True(mpdText.Contains("type=\"static\"", StringComparison.Ordinal), $"{slug}/manifest.mpd still dynamic:{Environment.NewLine}{mpdText}");
        }

        string log = logTail(400);
        Assert.DoesNotContain("not uploaded", log);
    }
}
