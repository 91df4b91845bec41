using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Live;

/// <summary>
/// What an operator is told is wrong with a broadcast's packaging (its status's warnings): the source's keyframes and audio
/// timestamps as the segmenter met them, and renditions retired while the broadcast goes on.
/// </summary>
internal static class PackagingWarnings
{
    private const long AudioSegmenterStoppedSeconds = AudioSegmenter.StoppedAfterTicks / Broadcast.Media.Timescales.Video;

    public static List<string> Of(StreamSegmenter segmenter, PackagedBroadcast broadcast)
    {
        var warnings = new List<string>();
        if (segmenter.KeyframeWarning is { } w) warnings.Add(w);
        if (segmenter.AudioReanchors > 0) warnings.Add($"audio timestamps jumped {segmenter.AudioReanchors} time(s); audio clock re-anchored");
        if (segmenter.AudioOverlapsDropped > 0)
            warnings.Add($"audio timestamps stepped back into audio already sent; {segmenter.AudioOverlapsDropped} overlapping frame(s) dropped");
        if (segmenter.StoppedAudio is { Count: > 0 } stopped)
            warnings.Add($"audio track{(stopped.Count > 1 ? "s" : "")} {string.Join(", ", stopped)} stopped: the encoder has sent " +
                $"nothing of it for over {AudioSegmenterStoppedSeconds} s while the picture goes on; its listeners hear nothing (their " +
                "players wait) until it returns, and every other rendition goes on");
        var retired = broadcast.VideoTimelines.Where(t => t.Retired).Select(t => t.Name).ToArray();
        if (retired.Length > 0) warnings.Add($"renditions {string.Join(", ", retired)} stopped and were removed from the manifests");
        if (broadcast.Keys?.Warning is { } keys) warnings.Add(keys);
        return warnings;
    }
}
