using Broadcast.TestSupport;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>One sample as it went into the writer, with the absolute decode time the test expects back.</summary>
public readonly record struct ExpectedSample(long Dts, int CompositionOffset, uint Duration, bool IsSync, byte[] Data)
{
    public CmafSample ToCmaf() => new(Data, Duration, CompositionOffset, IsSync);
}

/// <summary>
/// A 2-second clip made by ffmpeg as FLV (the shape RTMP ingest delivers): libx264 320x240 30 fps with a
/// 1-second GOP and B-frames (so composition offsets are non-zero), and AAC-LC 48 kHz stereo. The tracks are
/// built straight from the FLV sequence headers: the avcC and the AudioSpecificConfig are taken verbatim.
/// </summary>
public sealed class FlvClipFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public FlvClipFixture()
    {
        string flv = _directory.Combine("clip.flv");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "high", "-g", "30", "-keyint_min", "30", "-sc_threshold", "0", "-bf", "2",
            "-c:a", "aac", "-ac", "2", "-ar", "48000",
            "-f", "flv", flv);
        var tags = FlvTestFile.Parse(File.ReadAllBytes(flv));

        var avcC = tags.First(t => t.IsVideo && t.IsSequenceHeader).Payload;
        var asc = tags.First(t => !t.IsVideo && t.IsSequenceHeader).Payload;
        // RFC 6381: avc1.PPCCLL from the avcC's profile, constraint flags and level bytes.
        Video = new VideoTrack(Codec.H264, avcC, $"avc1.{avcC[1]:x2}{avcC[2]:x2}{avcC[3]:x2}", 320, 240);
        Audio = new AudioTrack(Codec.Aac, asc, "mp4a.40.2", 48000, 2);

        var frames = tags.Where(t => t.IsVideo && !t.IsSequenceHeader && t.Payload.Length > 0).ToList();
        var videoSamples = new List<ExpectedSample>();
        for (int i = 0; i < frames.Count; i++)
        {
            long dts = frames[i].TimestampMs * 90;
            // Duration = next DTS - DTS; the last frame repeats the previous duration.
            uint duration = i + 1 < frames.Count
                ? (uint)(frames[i + 1].TimestampMs * 90 - dts)
                : videoSamples[^1].Duration;
            videoSamples.Add(new ExpectedSample(dts, frames[i].CompositionTimeMs * 90, duration, frames[i].IsKeyframe, frames[i].Payload));
        }
        VideoSamples = videoSamples;

        var audioFrames = tags.Where(t => !t.IsVideo && !t.IsSequenceHeader).ToList();
        // Audio time comes from sample counts (1024 per AAC frame) from the first frame's time on, never from
        // the rounded millisecond stamps of later frames.
        long audioStart = Timescales.Rescale(audioFrames[0].TimestampMs, Timescales.Milliseconds, 48000);
        AudioSamples = audioFrames.Select((t, i) => new ExpectedSample(audioStart + 1024L * i, 0, 1024, true, t.Payload)).ToList();
    }

    public VideoTrack Video { get; }

    public AudioTrack Audio { get; }

    public IReadOnlyList<ExpectedSample> VideoSamples { get; }

    public IReadOnlyList<ExpectedSample> AudioSamples { get; }

    public TempDirectory Directory => _directory;

    /// <summary>Deletes the clip and written files, unless CMAF_TESTS_KEEP is set (to inspect them by hand).</summary>
    public void Dispose()
    {
        if (Environment.GetEnvironmentVariable("CMAF_TESTS_KEEP") is null) _directory.Dispose();
    }
}
