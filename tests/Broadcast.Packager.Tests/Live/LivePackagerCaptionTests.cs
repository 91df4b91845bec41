using System.Text.RegularExpressions;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// <see cref="LivePackager"/> and <see cref="PackagerOptions.Captions"/>: the hub finds A/53 captions in the source's
/// frames and the manifests declare them (Detect), always (Always) or never (Never). Synthetic frames: 30 fps, a
/// keyframe every 2 s, the caption SEI in every picture from <c>captionsFrom</c> on (as an inserter sends padding).
/// </summary>
public sealed partial class LivePackagerCaptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly VideoTrack _video = TestMedia.Video(1280, 720);
    private readonly AudioTrack _audio = TestMedia.Audio();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(CaptionDeclaration.Detect, 0, true)]      // from the first frame: declared in the first master
    [InlineData(CaptionDeclaration.Detect, -1, false)]    // none: CLOSED-CAPTIONS=NONE
    [InlineData(CaptionDeclaration.Always, -1, true)]
    [InlineData(CaptionDeclaration.Never, 0, false)]
    public async Task The_manifests_declare_captions_as_configured(CaptionDeclaration setting, int captionsFrom, bool declared)
    {
        var (master, mpd, _, firstSegment) = await RunAsync(setting, captionsFrom, seconds: 6);
        Assert.Equal(declared, master.Contains("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"cc\"", StringComparison.Ordinal));
        Assert.Equal(declared, master.Contains(",CLOSED-CAPTIONS=\"cc\"\n", StringComparison.Ordinal));
        Assert.Equal(!declared, master.Contains(",CLOSED-CAPTIONS=NONE\n", StringComparison.Ordinal));
        Assert.Equal(declared, mpd.Contains("urn:scte:dash:cc:cea-608:2015", StringComparison.Ordinal));
        // The CMAF writer copies samples whole: the caption SEI NAL unit is in the source's segment byte for byte.
        byte[] sei = CaptionClip.Avcc(4, CaptionClip.CaptionSeiNal(null));
        Assert.Equal(captionsFrom == 0, firstSegment.AsSpan().IndexOf(sei) >= 0);
    }

    [Fact]
    public async Task Captions_that_start_after_the_first_master_get_it_rewritten()
    {
        var (master, mpd, logs, _) = await RunAsync(CaptionDeclaration.Detect, captionsFrom: 5 * 30, seconds: 8);
        Assert.Contains(",CLOSED-CAPTIONS=\"cc\"\n", master, StringComparison.Ordinal);
        Assert.Contains("value=\"CC1=eng\"", mpd, StringComparison.Ordinal);
        Assert.Contains("captions found", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_low_latency_broadcast_declares_them_and_its_parts_carry_them()
    {
        var (master, mpd, _, _) = await RunAsync(CaptionDeclaration.Detect, captionsFrom: 0, seconds: 6, lowLatency: true);
        Assert.Contains(",CLOSED-CAPTIONS=\"cc\"\n", master, StringComparison.Ordinal);
        Assert.Contains("value=\"CC1=eng\"", mpd, StringComparison.Ordinal);
        var parts = Directory.GetFiles(Path.Combine(_dir.Path, "media", "chan", StoreKeys.SourceRendition)).Where(f => PartFile().IsMatch(f)).ToList();
        Assert.NotEmpty(parts);
        byte[] sei = CaptionClip.Avcc(4, CaptionClip.CaptionSeiNal(null));
        Assert.All(parts, f => Assert.True(File.ReadAllBytes(f).AsSpan().IndexOf(sei) >= 0, f));
    }

    [GeneratedRegex(@"-\d+\.\d+\.m4s$")]
    private static partial Regex PartFile();

    private async Task<(string Master, string Mpd, string Logs, byte[] FirstSegment)> RunAsync(CaptionDeclaration setting, int captionsFrom, int seconds,
        bool lowLatency = false)
    {
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, Captions = setting, LowLatencyByDefault = lowLatency };
        var registry = new LiveStreamRegistry();
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        var log = new ListLogger<LivePackager>();
        await using var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
            TimeProvider.System, log, lowLatency: new DefaultLowLatencyPolicy(Options.Create(options)));
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        packager.StreamFinished += _ => finished.TrySetResult();
        await packager.StartAsync(default);
        Assert.True(registry.TryStartPublish("chan", out var source));
        var masters = new List<string>();
        packager.ManifestUpdated += m =>
        {
            if (m.Key == StoreKeys.Master("chan")) lock (masters) masters.Add(File.ReadAllText(store.PathOf(m.Key)));
        };
        long audioCount = 0;
        for (int i = 0; i < seconds * 30; i++)
        {
            bool captions = captionsFrom >= 0 && i >= captionsFrom;
            if (captionsFrom > 0 && i == captionsFrom)
            {
                // Captions that start late: the packager has written its first master without them by now.
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!File.Exists(store.PathOf(StoreKeys.Master("chan"))))
                {
                    Assert.True(DateTime.UtcNow < deadline, "no master playlist before the captions started");
                    await Task.Delay(20);
                }
            }
            source.Write(MediaFrame.Rent(_video, i * 3000L, 0, i % 60 == 0, Picture(i % 60 == 0, captions)));
            while (audioCount <= (long)Math.Floor(i * 1.6)) source.Write(TestMedia.Frame(_audio, audioCount++ * 1024L, true, 20));
        }
        registry.EndPublish(source);
        Assert.Same(finished.Task, await Task.WhenAny(finished.Task, Task.Delay(TimeSpan.FromSeconds(60))));
        string logs;
        lock (log.Lines) logs = string.Join("\n", log.Lines);
        lock (masters) if (captionsFrom > 0 && setting == CaptionDeclaration.Detect) Assert.Contains("CLOSED-CAPTIONS=NONE", masters[0], StringComparison.Ordinal);
        string firstSegment = Regex.Match(File.ReadAllText(store.PathOf(StoreKeys.MediaPlaylist("chan", StoreKeys.SourceRendition))), @"^[^#\s]+\.m4s$", RegexOptions.Multiline).Value;
        return (File.ReadAllText(store.PathOf(StoreKeys.Master("chan"))), File.ReadAllText(store.PathOf(StoreKeys.Mpd("chan"))), logs,
            await File.ReadAllBytesAsync(store.PathOf($"chan/{StoreKeys.SourceRendition}/{firstSegment}")));
    }

    /// <summary>One picture in AVCC framing: the caption SEI (padding) when <paramref name="captions"/>, then a slice.</summary>
    private static byte[] Picture(bool key, bool captions)
    {
        byte[] slice = key ? [0x65, 0x88, 0x84, 0x00] : [0x41, 0x9A, 0x02, 0x00];
        return captions ? CaptionClip.Avcc(4, CaptionClip.CaptionSeiNal(null), slice) : CaptionClip.Avcc(4, slice);
    }
}
