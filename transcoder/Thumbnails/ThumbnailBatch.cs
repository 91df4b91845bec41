using System.Buffers;
using System.Globalization;
using Broadcast.Media;
using Broadcast.Media.Flv;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Thumbnails;

/// <summary>What a batch made: a JPEG or the reason there is none for each keyframe, in order, and the ffmpeg runs it took.</summary>
public sealed record ThumbnailPictures(IReadOnlyList<(byte[]? Jpeg, string? Error)> Pictures, int Runs);

/// <summary>
/// Many keyframes to as many JPEGs in one ffmpeg run: each keyframe goes to a file as a one-frame FLV
/// (<see cref="ToFlv"/>), ffmpeg opens them all as inputs and writes one JPEG output each (its own
/// scaler and encoder, so every channel keeps its own aspect). Starting ffmpeg costs more than a picture (it maps some
/// two hundred libraries: about 50 ms of CPU and 60 MB of address space on a small machine, against about 20 ms to decode
/// a 720p keyframe and write the JPEG), so a node pays that once per batch, not once per channel.
/// </summary>
public static class ThumbnailBatch
{
    /// <summary>
    /// Pictures one run makes at most: the decoders of that many inputs are open at once in one process. Measured with
    /// 720p keyframes: 64 MB of peak RSS for one, 118 MB for eight, 219 MB for twenty; eight keep a run's memory near the
    /// single picture's while the start-up is shared (about 18 ms of CPU a picture against 60 ms alone).
    /// </summary>
    public const int MaxPictures = 8;

    /// <summary>The keyframe as a one-frame FLV: header, the track's sequence header, the frame at time 0.</summary>
    public static byte[] ToFlv(MediaFrame keyframe)
    {
        ArgumentNullException.ThrowIfNull(keyframe);
        var flv = new ArrayBufferWriter<byte>(keyframe.Length + keyframe.Track.DecoderConfig.Length + 64);
        FlvMuxer.WriteHeader(flv, hasAudio: false, hasVideo: true);
        FlvMuxer.WriteVideoTag(flv, keyframe.Track.Codec, 0, keyframe: true, packetType: 0, cto: 0, keyframe.Track.DecoderConfig.Span);
        FlvMuxer.WriteVideoTag(flv, keyframe.Track.Codec, 0, keyframe: true, packetType: 1, cto: 0, keyframe.Data.Span);
        return flv.WrittenSpan.ToArray();
    }

    /// <summary>ffmpeg's arguments for <paramref name="inputs"/> (FLV files) to <paramref name="outputs"/> (JPEG files),
    /// one list entry each.</summary>
    public static IReadOnlyList<string> Arguments(IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, int height)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (inputs.Count != outputs.Count
            || inputs.Count is 0 or > MaxPictures) throw new ArgumentException($"1 to {MaxPictures} inputs, one output each");
        // Local files only: the inputs are ours, and nothing in them may make ffmpeg open anything else.
        var arguments = new List<string> { "-hide_banner", "-nostdin", "-v", "error", "-protocol_whitelist", "file" };
        // One decoding thread an input: a keyframe gains nothing from frame threads, and each thread holds its own frames.
        foreach (string input in inputs) arguments.AddRange(["-threads", "1", "-f", "flv", "-i", input]);
        string scale = $"scale=-2:{height.ToString(CultureInfo.InvariantCulture)}";
        for (int i = 0; i < outputs.Count; i++)
        {
            arguments.AddRange(["-map", $"{i.ToString(CultureInfo.InvariantCulture)}:v:0", "-frames:v", "1", "-vf", scale, "-q:v", "5",
                "-c:v", "mjpeg", "-f", "mjpeg", "-y", outputs[i]]);
        }

        return arguments;
    }

    /// <summary>
    /// A JPEG for each of <paramref name="keyframes"/>, in their order, or the reason there is none. Files go under
    /// <paramref name="workDirectory"/> and are gone when this returns. A run that makes no picture at all (an input
    /// ffmpeg cannot open stops it before any output) is split in halves and each half run again; a run that made some
    /// pictures and stopped at a bad keyframe before it wrote the others (how far ffmpeg got before the error varies from
    /// run to run) runs those others again. One bad keyframe costs its batch a few more runs, never its neighbours their
    /// pictures.
    /// </summary>
    public static async Task<ThumbnailPictures> EncodeAsync(string ffmpegPath, IReadOnlyList<MediaFrame> keyframes, int height,
        string workDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keyframes);
        var results = new (byte[]? Jpeg, string? Error)[keyframes.Count];
        int runs = 0;
        for (int start = 0; start < keyframes.Count; start += MaxPictures)
            runs += await RunAsync(ffmpegPath, keyframes, Enumerable.Range(start, Math.Min(MaxPictures, keyframes.Count - start)).ToArray(),
                height, workDirectory, timeout, results, cancellationToken)
                .ConfigureAwait(false);
        return new ThumbnailPictures(results, runs);
    }

    // One ffmpeg run for the keyframes at these indices, and the runs again of those it made no picture of: the runs made in all.
    private static async Task<int> RunAsync(string ffmpegPath, IReadOnlyList<MediaFrame> keyframes, int[] indices, int height,
        string workDirectory,
        TimeSpan timeout, (byte[]? Jpeg, string? Error)[] results, CancellationToken cancellationToken)
    {
        int count = indices.Length;
        string run = Path.Combine(workDirectory, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(run);
        try
        {
            var inputs = new string[count];
            var outputs = new string[count];
            for (int i = 0; i < count; i++)
            {
                inputs[i] = Path.Combine(run, $"{i}.flv");
                outputs[i] = Path.Combine(run, $"{i}.jpg");
                await File.WriteAllBytesAsync(inputs[i], ToFlv(keyframes[indices[i]]), cancellationToken).ConfigureAwait(false);
            }

            var result = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, Arguments(inputs, outputs, height)), timeout,
                cancellationToken)
                .ConfigureAwait(false);
            var missing = new List<int>();
            for (int i = 0; i < count; i++)
            {
                byte[]? jpeg = File.Exists(outputs[i]) ? await File.ReadAllBytesAsync(outputs[i], cancellationToken).ConfigureAwait(false) : null;
                // A JPEG starts with SOI (FF D8).
                if (jpeg is { Length: > 2 } && jpeg[0] == 0xFF && jpeg[1] == 0xD8)
                {
                    results[indices[i]] = (jpeg, null);
                }
                else
                {
                    missing.Add(indices[i]);
                    results[indices[i]] = (null, result.TimedOut ? $"ffmpeg ran past {timeout.TotalSeconds:0} s" : "ffmpeg exited " +
                        $"{result.ExitCode}: {Tail(result.StderrTail)}");
                }
            }

            if (missing.Count == 0 || count == 1 || result.TimedOut) return 1;
            // Made some: those it did not make go again together (the bad one among them is then split off). Made none:
            // halves, so the bad one ends up alone.
            int[] again = missing.ToArray();
            if (again.Length < count)
                return 1 + await RunAsync(ffmpegPath, keyframes, again, height, workDirectory, timeout, results, cancellationToken).ConfigureAwait(false);
            int half = count / 2;
            return 1 + await RunAsync(ffmpegPath, keyframes, again[..half], height, workDirectory, timeout, results,
                cancellationToken).ConfigureAwait(false)
                + await RunAsync(ffmpegPath, keyframes, again[half..], height, workDirectory, timeout, results,
                    cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try { Directory.Delete(run, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    private static string Tail(IReadOnlyList<string> stderr)
    {
        string text = string.Join(" | ", stderr.TakeLast(3)).Trim();
        return text.Length <= 300 ? text : "…" + text[^300..];
    }
}
