using System.Globalization;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Dashboard;

/// <summary>How serious a piece of advice is: the dashboard colours it.</summary>
public enum AdviceLevel
{
    Info = 0,
    Warning = 1,
}

/// <summary>One sentence for the encoder operator, in the words of the encoder's own settings.</summary>
public sealed record Advice(AdviceLevel Level, string Text);

/// <summary>
/// Turns a channel's live status into plain-words advice for whoever runs the encoder (OBS, vMix, a hardware box).
/// The thresholds follow what players need: segments are cut on keyframes, so a keyframe interval longer than
/// the segment target makes every segment that long and raises latency; a bitrate far above the top rendition
/// wastes uplink; a missing audio track makes some players (Safari) refuse the stream.
/// </summary>
public static class EncoderAdvice
{
    /// <summary>The keyframe interval we ask for: one segment target (2 s), as Apple's HLS authoring spec recommends.</summary>
    public const int RecommendedKeyframeSeconds = 2;

    /// <summary>Above this source bitrate (bits/s) for the resolution we say it is more than viewers can use.</summary>
    public static long SensibleBitrateFor(int height) => height switch
    {
        <= 0 => 8_000_000,
        <= 360 => 1_500_000,
        <= 480 => 2_500_000,
        <= 720 => 6_000_000,
        <= 1080 => 9_000_000,
        <= 1440 => 16_000_000,
        _ => 40_000_000,
    };

    /// <summary>Advice for <paramref name="state"/>; empty when off air or when everything looks right.</summary>
    /// <param name="recentFps">Recent frames-per-second samples (oldest first) to judge stability; may be empty.</param>
    public static IReadOnlyList<Advice> For(ChannelLiveState state, IReadOnlyList<double>? recentFps = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        var advice = new List<Advice>();
        if (!state.Online)
        {
            return advice;
        }

        if (state.KeyframeIntervalMs > (RecommendedKeyframeSeconds * 1000) + 500)
        {
            advice.Add(new Advice(AdviceLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                $"Keyframes every {Seconds(state.KeyframeIntervalMs)} s — set {RecommendedKeyframeSeconds} s in OBS: Output → Keyframe Interval (ffmpeg: -g {2 * (int)Math.Round(state.Video?.FrameRate ?? 30)} for {Math.Round(state.Video?.FrameRate ?? 30)} fps). Long intervals make every segment that long and delay viewers.")));
        }

        if (state.Video is null)
        {
            advice.Add(new Advice(AdviceLevel.Warning,
                "No video is arriving. Check that the encoder has a video source and a video encoder (H.264) selected."));
        }
        else
        {
            var sensible = SensibleBitrateFor(state.Video.Height);
            if (state.Bitrate > sensible * 3 / 2)
            {
                advice.Add(new Advice(AdviceLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                    $"Bitrate {Mbps(state.Bitrate)} Mb/s is far above what {state.Video.Height}p needs (about {Mbps(sensible)} Mb/s). Lower it in OBS: Output → Video Bitrate; viewers cannot use the extra.")));
            }
        }

        if (state.Audio is null)
        {
            advice.Add(new Advice(AdviceLevel.Warning, "No audio track. Some players (Safari, smart TVs) refuse a stream without audio: " +
                "add an audio source, even a silent one, and select AAC."));
        }

        if (recentFps is { Count: >= 5 } && state.Video?.FrameRate is { } nominal && nominal > 0)
        {
            var min = recentFps.Min();
            var max = recentFps.Max();
            if (max - min > nominal * 0.2)
            {
                advice.Add(new Advice(AdviceLevel.Warning, string.Create(CultureInfo.InvariantCulture,
                    $"Frame rate unstable ({min:0.#}–{max:0.#} fps for a {nominal:0.##} fps stream). The encoder is overloaded or the network drops data: choose a faster encoder preset or a lower resolution.")));
            }
        }

        foreach (var warning in state.Warnings)
        {
            advice.Add(new Advice(AdviceLevel.Warning, warning));
        }

        if (advice.Count == 0)
        {
            advice.Add(new Advice(AdviceLevel.Info, "Encoder settings look right for live streaming."));
        }

        return advice;
    }

    private static string Seconds(long ms) => (ms / 1000.0).ToString("0.#", CultureInfo.InvariantCulture);

    private static string Mbps(long bps) => (bps / 1_000_000.0).ToString("0.#", CultureInfo.InvariantCulture);
}
