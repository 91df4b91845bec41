using System.Text.RegularExpressions;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// The encoder's alternate audio tracks packaged beside the default one: each its own rendition cut at the leader's
/// numbers, offered in the master as one more rendition of the audio group with its language, in the MPD as an
/// AdaptationSet of its own, with parts when low latency, and kept by the recording.
/// </summary>
public sealed class AlternateAudioPackagerTests : IDisposable
{
    private static readonly AudioLabel English = new("eng", AudioPurpose.Main);
    private static readonly AudioLabel French = new("fra", AudioPurpose.Main);
    private static readonly AudioLabel Description = new("eng", AudioPurpose.AudioDescription);

    private readonly TempDirectory _dir = new();
    private long _audioCount;
    private int _videoCount;

    public void Dispose() => _dir.Dispose();

    private (StreamPackager Packager, FileSystemSegmentStore Store, ManualClock Time) Create(bool record = false, bool lowLatency = false)
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 27, 16, 0, 0, TimeSpan.Zero));
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, PartSeconds = 0.5m };
        var names = AudioRenditionLabel.RenditionNames(StoreKeys.AudioRendition, [French, Description]);
        var packager = new StreamPackager(new BroadcastSettings
        {
            Channel = "chan", Record = record, LowLatency = lowLatency, AudioLabel = English,
            AlternateAudio = [new AlternateAudioRendition(names[1], French), new AlternateAudioRendition(names[2], Description)],
        }, store, options, time);
        return (packager, store, time);
    }

    /// <summary>Video at 30 fps, and every audio track at 48 kHz; the French track's frames are larger (a higher bitrate).</summary>
    private async Task FeedAsync(StreamPackager p, ManualClock time, int seconds)
    {
        var video = TestMedia.Video();
        var audio = new[] { TestMedia.Audio(), TestMedia.Audio(), TestMedia.Audio(channels: 1) };
        int[] sizes = [20, 60, 10];
        for (int n = 0; n < seconds * 30; n++)
        {
            int i = _videoCount++;
            await p.PushVideoAsync(0, TestMedia.Frame(video, i * 3000L, i % 60 == 0, 500), default);
            while (_audioCount <= (long)Math.Floor(i * 1.6))
            {
                for (int track = 0; track < audio.Length; track++)
                    await p.PushAudioAsync(track, TestMedia.Frame(audio[track], _audioCount * 1024L, true, sizes[track]), default);
                _audioCount++;
            }
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
    }

    [Fact]
    public async Task Each_language_is_a_rendition_of_the_audio_group_cut_at_the_same_numbers()
    {
        var (p, store, time) = Create();
        await using var _ = p;
        await FeedAsync(p, time, 9);

        string master = await File.ReadAllTextAsync(store.PathOf(StoreKeys.Master("chan")));
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
            + "URI=\"audio/index.m3u8\"\n", master, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"French\",LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\","
            + "URI=\"audio-fr/index.m3u8\"\n", master, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English (audio description)\",LANGUAGE=\"en\",DEFAULT=NO,"
            + "AUTOSELECT=YES,CHARACTERISTICS=\"public.accessibility.describes-video\",CHANNELS=\"1\",URI=\"audio-en/index.m3u8\"\n",
            master, StringComparison.Ordinal);
        Assert.Contains("CODECS=\"avc1.64001f,mp4a.40.2\"", master, StringComparison.Ordinal);

        // Every language has the default's segment numbers and spans, each stored with its own init segment.
        foreach (var alternate in p.AlternateAudioTimelines)
        {
            Assert.Equal(p.AudioTimeline!.Entries.Select(e => (e.Number, e.Start, e.Duration)), alternate.Entries.Select(e => (e.Number, e.Start, e.Duration)));
            string playlist = await File.ReadAllTextAsync(store.PathOf(StoreKeys.MediaPlaylist("chan", alternate.Name)));
            Assert.Contains("#EXT-X-MAP:URI=", playlist, StringComparison.Ordinal);
            foreach (var e in alternate.Entries.TakeLast(3))
                Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", alternate.Name, p.BroadcastId, e.Number))), $"{alternate.Name} {e.Number}");
        }

        string mpd = await File.ReadAllTextAsync(store.PathOf(StoreKeys.Mpd("chan")));
        var sets = Regex.Matches(mpd, "<AdaptationSet id=\"([0-9]+)\" contentType=\"audio\"[^>]* lang=\"([a-z]+)\">\n((?:      <(?:Role|Accessibility)[^\n]*\n)*)")
            .Select(m => (Id: m.Groups[1].Value, Lang: m.Groups[2].Value, Descriptors: m.Groups[3].Value)).ToArray();
        Assert.Equal(["1", "2", "3"], sets.Select(s => s.Id));
        Assert.Equal(["en", "fr", "en"], sets.Select(s => s.Lang));
        Assert.Contains("<Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"main\"/>", sets[0].Descriptors, StringComparison.Ordinal);
        Assert.Contains("<Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"alternate\"/>", sets[1].Descriptors, StringComparison.Ordinal);
        Assert.Contains("<Accessibility schemeIdUri=\"urn:tva:metadata:cs:AudioPurposeCS:2007\" value=\"1\"/>", sets[2].Descriptors,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Accessibility", sets[1].Descriptors, StringComparison.Ordinal);

        // RFC 8216 section 4.3.4.2: BANDWIDTH is the peak of any set of renditions a player may choose, so the video's
        // with the largest audio's (the French track here); the ended master declares the whole broadcast's.
        await p.CompleteAsync(default);
        master = await File.ReadAllTextAsync(store.PathOf(StoreKeys.Master("chan")));
        Assert.True(p.AlternateAudioTimelines[0].PeakBitrate > p.AudioTimeline!.PeakBitrate);
        long peak = p.VideoTimelines[0].PeakBitrate + p.AlternateAudioTimelines.Append(p.AudioTimeline).Max(a => a.PeakBitrate);
        Assert.Equal(peak, long.Parse(Regex.Match(master, "BANDWIDTH=([0-9]+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Low_latency_cuts_parts_for_every_language_and_the_recording_keeps_them_all()
    {
        var (p, store, time) = Create(record: true, lowLatency: true);
        await using (p)
        {
            await FeedAsync(p, time, 7);
            string french = await File.ReadAllTextAsync(store.PathOf(StoreKeys.MediaPlaylist("chan", "audio-fr")));
            Assert.Contains("#EXT-X-PART:", french, StringComparison.Ordinal);
            Assert.Contains("#EXT-X-PRELOAD-HINT:", french, StringComparison.Ordinal);
            // Rendition reports name the other languages, so a player switching language can ask for their newest part.
            Assert.Contains("#EXT-X-RENDITION-REPORT:URI=\"../audio-en/index.m3u8\"", french, StringComparison.Ordinal);
            await p.CompleteAsync(default);
        }

        string recording = await File.ReadAllTextAsync(store.PathOf(StoreKeys.RecordingMaster("chan", p.BroadcastId)));
        Assert.Contains("LANGUAGE=\"fr\"", recording, StringComparison.Ordinal);
        Assert.Contains($"audio-fr/{p.BroadcastId}.m3u8", recording, StringComparison.Ordinal);
        string vod = await File.ReadAllTextAsync(store.PathOf(StoreKeys.VodPlaylist("chan", "audio-fr", p.BroadcastId)));
        Assert.Contains("#EXT-X-ENDLIST", vod, StringComparison.Ordinal);
        Assert.Contains("lang=\"fr\"", await File.ReadAllTextAsync(store.PathOf(StoreKeys.RecordingMpd("chan", p.BroadcastId))), StringComparison.Ordinal);
    }

    /// <summary>
    /// The publisher drops and comes back: every language closes at the drop with the default audio and continues with
    /// a discontinuity at the same number, so a player on either language sees the same timeline.
    /// </summary>
    [Fact]
    public async Task A_drop_closes_and_resumes_every_language_at_the_same_numbers()
    {
        var (p, store, time) = Create();
        await using var _ = p;
        await FeedAsync(p, time, 5);
        await p.InterruptAsync(0, default);
        int closedAtDrop = p.AudioTimeline!.Entries.Count;
        Assert.All(p.AlternateAudioTimelines, a => Assert.Equal(closedAtDrop, a.Entries.Count));
        // The new publish: 3 s later on the timeline, from a keyframe.
        _videoCount += 90 + (60 - _videoCount % 60);
        _audioCount = (long)Math.Floor(_videoCount * 1.6);
        await FeedAsync(p, time, 5);
        await p.CompleteAsync(default);

        var expected = p.AudioTimeline.Entries.Select(e => (e.Number, e.Segment.Discontinuity)).ToArray();
        Assert.Contains(expected, e => e.Discontinuity);
        Assert.All(p.AlternateAudioTimelines, a => Assert.Equal(expected, a.Entries.Select(e => (e.Number, e.Segment.Discontinuity))));
        string french = await File.ReadAllTextAsync(store.PathOf(StoreKeys.MediaPlaylist("chan", "audio-fr")));
        Assert.Contains("#EXT-X-DISCONTINUITY", french, StringComparison.Ordinal);
    }

    [Fact]
    public void Alternate_audio_needs_names_of_its_own()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        var time = new ManualClock(DateTimeOffset.UnixEpoch);
        Assert.Throws<ArgumentException>(() => new StreamPackager(new BroadcastSettings
        {
            Channel = "chan", AlternateAudio = [new AlternateAudioRendition(StoreKeys.AudioRendition, French)],
        }, store, new PackagerOptions(), time));
        Assert.Throws<ArgumentException>(() => new StreamPackager(new BroadcastSettings
        {
            Channel = "chan", AlternateAudio = [new AlternateAudioRendition("../x", French)],
        }, store, new PackagerOptions(), time));
    }
}
