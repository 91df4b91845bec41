using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// An MPEG-TS program with several ADTS AAC streams (what ffmpeg writes for <c>-map</c> of several audio inputs, each with
/// its language and disposition in the PMT): the first is the hub's own audio, the next ones up to the cap become the
/// encoder's alternate audio, each on its own hub with its label, placed on the broadcast's timeline.
/// </summary>
[Trait("Kind", "Component")]
public sealed class AlternateAudioDemuxTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Three tones in three AAC streams: English, French, and an English audio description.</summary>
    private string ThreeAudioStreams()
    {
        string path = _dir.Combine("three-audio.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64:rate=10",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000",
            "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
            "-t", "2", "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-c:v", "libx264", "-preset", "ultrafast",
            "-c:a", "aac", "-b:a", "32k", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
            "-metadata:s:a:2", "language=eng", "-disposition:a:2", "visual_impaired", "-f", "mpegts", path);
        return path;
    }

    [Fact]
    public void Each_further_aac_stream_becomes_alternate_audio_with_its_label_and_its_own_frames()
    {
        byte[] ts = File.ReadAllBytes(ThreeAudioStreams());
        var stream = new LiveStream("languages", TimeProvider.System);
        using var main = stream.OpenReader("test", capacity: 4096);
        using var demuxer = new MpegTsDemuxer(stream, maxAudioTracks: 4);
        // The PMT comes in the first packets: the alternate hubs exist from then on, before any of their frames.
        Assert.True(demuxer.TryWrite(ts.AsSpan(0, 188 * 4), out string? error), error);
        var tracks = stream.AlternateAudioTracks;
        Assert.Equal(2, tracks.Count);
        using var french = tracks[0].Hub.OpenReader("test", capacity: 4096);
        Assert.True(demuxer.TryWrite(ts.AsSpan(188 * 4), out error), error);

        Assert.Equal(new AudioLabel("eng", AudioPurpose.Main), stream.AudioLabel);
        Assert.Equal(new AudioLabel("fra", AudioPurpose.Main), tracks[0].Label);
        Assert.Equal(new AudioLabel("eng", AudioPurpose.AudioDescription), tracks[1].Label);
        Assert.Equal(tracks.Select(t => t.TrackId), demuxer.AlternateAudioStreams.Select(s => (int)s.Pid));
        Assert.Empty(demuxer.IgnoredStreams);
        Assert.All(tracks, t => Assert.True(t.Hub.Statistics.AudioFrames > 40, $"{t.Label}: {t.Hub.Statistics.AudioFrames} frames"));
        Assert.Equal(0, tracks[0].Hub.Statistics.VideoFrames);

        // The same program clock: the French track starts where the default does (ffmpeg starts both at once).
        long mainFirst = FirstAudioDts(main), frenchFirst = FirstAudioDts(french);
        Assert.InRange(Math.Abs(mainFirst - frenchFirst), 0, 48_000 / 10);
        Assert.Equal(48_000, tracks[0].Hub.Audio!.SampleRate);

        // The alternate hubs end with the broadcast.
        stream.Complete();
        Assert.All(tracks, t => Assert.True(t.Hub.IsCompleted));
    }

    [Fact]
    public void Streams_past_the_cap_are_ignored_and_one_track_keeps_todays_single_audio()
    {
        string path = ThreeAudioStreams();
        var capped = new LiveStream("capped", TimeProvider.System);
        using (var demuxer = new MpegTsDemuxer(capped, maxAudioTracks: 2))
        {
            Assert.True(demuxer.TryWrite(File.ReadAllBytes(path), out string? error), error);
            var only = Assert.Single(capped.AlternateAudioTracks);
            Assert.Equal("fra", only.Label.Language);
            var ignored = Assert.Single(demuxer.IgnoredStreams);
            Assert.Equal(TsStreamType.AacAdts, ignored.StreamType);
        }

        var single = new LiveStream("single", TimeProvider.System);
        using (var demuxer = new MpegTsDemuxer(single))
        {
            Assert.True(demuxer.TryWrite(File.ReadAllBytes(path), out string? error), error);
            Assert.Empty(single.AlternateAudioTracks);
            Assert.Equal(2, demuxer.IgnoredStreams.Count);
            Assert.True(single.Statistics.AudioFrames > 0);
        }
    }

    /// <summary>
    /// Once the packager took the renditions, a track that appears later (a new PID in a new PMT) cannot join a master
    /// playlist players already hold: it is ignored, and the tracks taken go on.
    /// </summary>
    [Fact]
    public void A_track_that_appears_after_the_renditions_were_taken_is_ignored()
    {
        byte[] ts = File.ReadAllBytes(ThreeAudioStreams());
        var stream = new LiveStream("late", TimeProvider.System);
        // Another hub's alternate track was made before the take, so only this demuxer's PIDs are new.
        Assert.Empty(stream.TakeAlternateAudio());
        using var demuxer = new MpegTsDemuxer(stream, maxAudioTracks: 4);
        Assert.True(demuxer.TryWrite(ts, out string? error), error);
        Assert.Empty(stream.AlternateAudioTracks);
        Assert.Equal(2, demuxer.IgnoredStreams.Count);
        Assert.True(stream.Statistics.AudioFrames > 0);
    }

    [Fact]
    public void Only_tracks_that_carried_a_frame_are_taken_and_the_cap_counts_the_default()
    {
        var stream = new LiveStream("hub", TimeProvider.System);
        var silent = stream.AlternateAudioTrack(300, new AudioLabel("fra", AudioPurpose.Main), maxTracks: 3, out string? refusal);
        Assert.NotNull(silent);
        Assert.Null(refusal);
        Assert.Same(silent, stream.AlternateAudioTrack(300, AudioLabel.Unlabelled, maxTracks: 3, out _));
        Assert.NotNull(stream.AlternateAudioTrack(301, AudioLabel.Unlabelled, maxTracks: 3, out _));
        Assert.Null(stream.AlternateAudioTrack(302, AudioLabel.Unlabelled, maxTracks: 3, out refusal));
        Assert.Equal("more than 3 audio tracks", refusal);
        // Neither carried a frame (no track set): a master must not wait for their first segments.
        Assert.Empty(stream.TakeAlternateAudio());
        Assert.Null(stream.AlternateAudioTrack(303, AudioLabel.Unlabelled, maxTracks: 8, out refusal));
        Assert.Contains("after the renditions were set", refusal, StringComparison.Ordinal);
    }

    private static long FirstAudioDts(LiveStreamReader reader)
    {
        Assert.True(reader.TryRead(out var frame), "no frame");
        try
        {
            while (frame!.Kind != MediaKind.Audio)
            {
                frame.Release();
                Assert.True(reader.TryRead(out frame), "no audio frame");
            }
            return frame.Dts;
        }
        finally { frame?.Release(); }
    }
}
