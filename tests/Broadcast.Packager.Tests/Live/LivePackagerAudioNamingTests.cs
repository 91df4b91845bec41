using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// <see cref="LivePackager"/> with <see cref="IAudioTrackNames"/>: the encoder's untagged audio tracks (E-RTMP multitrack
/// audio carries no language) take the channel's names, in the order the encoder sent them, the default track first; a
/// track the encoder tagged keeps its tag. Synthetic frames: 30 fps video with a keyframe every 2 s, AAC on every track.
/// </summary>
public sealed class LivePackagerAudioNamingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Untagged_tracks_take_the_channels_names_and_tagged_ones_keep_their_own()
    {
        AudioLabel[] names = [new("eng", AudioPurpose.Main), new("fra", AudioPurpose.AudioDescription), new("spa", AudioPurpose.Main)];
        var (master, mpd, status) = await RunAsync(names, [AudioLabel.Unlabelled, new AudioLabel("deu", AudioPurpose.Main)]);

        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES", master, StringComparison.Ordinal);
        Assert.Contains("NAME=\"French (audio description)\",LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES," +
            "CHARACTERISTICS=\"public.accessibility.describes-video\"", master, StringComparison.Ordinal);
        // The third track said German itself: the channel's Spanish does not replace it.
        Assert.Contains("NAME=\"German\",LANGUAGE=\"de\"", master, StringComparison.Ordinal);
        Assert.DoesNotContain("LANGUAGE=\"es\"", master, StringComparison.Ordinal);
        Assert.Contains("lang=\"fr\"", mpd, StringComparison.Ordinal);
        Assert.Equal(["audio", "audio-fr", "audio-de"], status.AudioRenditions);
    }

    [Fact]
    public async Task Without_names_untagged_tracks_are_numbered()
    {
        var (master, _, status) = await RunAsync([], [AudioLabel.Unlabelled]);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES", master, StringComparison.Ordinal);
        Assert.Equal(["audio", "audio-2"], status.AudioRenditions);
    }

    private async Task<(string Master, string Mpd, StreamPackagerStatus Status)> RunAsync(IReadOnlyList<AudioLabel> names,
        IReadOnlyList<AudioLabel> alternates)
    {
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3 };
        var registry = new LiveStreamRegistry();
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        await using var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
            TimeProvider.System, new ListLogger<LivePackager>(), audioTrackNames: new FixedAudioTrackNames(names));
        var finished = new TaskCompletionSource<BroadcastFinished>(TaskCreationOptions.RunContinuationsAsynchronously);
        packager.StreamFinished += f => finished.TrySetResult(f);
        await packager.StartAsync(default);
        Assert.True(registry.TryStartPublish("chan", out var source));
        var video = TestMedia.Video(1280, 720);
        var audio = TestMedia.Audio();
        source.SetTrack(video);
        source.SetTrack(audio);
        var hubs = alternates.Select((label, i) => source.AlternateAudioTrack(i + 1, label, maxTracks: 4, out _)!).ToArray();
        foreach (var hub in hubs) hub.SetTrack(audio);
        long audioCount = 0;
        for (int i = 0; i < 6 * 30; i++)
        {
            // The alternates' readers open once the packager has probed the first frames: what they carry comes after.
            if (i == 15) await WaitUntilAsync(() => packager.Find("chan") is not null);
            source.Write(TestMedia.Frame(video, i * 3000L, i % 60 == 0, 40));
            for (; audioCount <= (long)Math.Floor(i * 1.6); audioCount++)
            {
                source.Write(TestMedia.Frame(audio, audioCount * 1024L, true, 20));
                foreach (var hub in hubs) source.WriteAlternateAudio(hub, TestMedia.Frame(audio, audioCount * 1024L, true, 20));
            }
        }
        registry.EndPublish(source);
        var done = await finished.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return (File.ReadAllText(store.PathOf(StoreKeys.Master("chan"))), File.ReadAllText(store.PathOf(StoreKeys.Mpd("chan"))), done.Status);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the packager did not start packaging");
            await Task.Delay(10);
        }
    }

    private sealed class FixedAudioTrackNames(IReadOnlyList<AudioLabel> names) : IAudioTrackNames
    {
        public ValueTask<IReadOnlyList<AudioLabel>> AudioTrackNamesAsync(LiveStream stream, CancellationToken cancellationToken) =>
            ValueTask.FromResult(names);
    }
}
