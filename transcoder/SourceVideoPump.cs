using System.Buffers;
using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.Transcoder;

/// <summary>
/// The input side of a <see cref="TranscodeSession"/>'s ffmpeg: the source's video written as FLV into its stdin, and
/// the source's video since the keyframe its rungs last reached kept, so that a restarted ffmpeg re-encodes from there.
/// Audio stays the source's (copied by the packager): only video goes through ffmpeg. One pump runs at a time.
/// </summary>
/// <param name="delivered">The decode time of the last frame every running rung has delivered (null before any has one): the
/// replay keeps what ffmpeg was given after the keyframe at or before it, however far ffmpeg lags (a loaded machine).</param>
internal sealed class SourceVideoPump(Func<long?> delivered)
{
    /// <summary>At most this much is kept (40 s at 30 fps): an ffmpeg further behind restarts from what is left.</summary>
    private const int MaxReplayFrames = 1200;
    private readonly List<MediaFrame> _replay = new();

    /// <summary>How a pump ended: the source ended, the pipe broke (or the run was cancelled), or the publisher dropped.</summary>
    public enum PumpEnd { SourceEnded, Broken, Gap }

    /// <summary>
    /// Source video as FLV into ffmpeg's stdin until the source ends, its publisher drops (a gap: ffmpeg is to drain
    /// what it holds) or ffmpeg goes away.
    /// </summary>
    public async Task<PumpEnd> PumpAsync(LiveStreamReader reader, Stream stdin, long? resumeAt, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(256 * 1024);
        var muxer = new FlvMuxer();
        FlvMuxer.WriteHeader(buffer, hasAudio: false, hasVideo: true);
        long lastWritten = long.MinValue;
        if (resumeAt is long resume)
        {
            // A restart: re-encode from the last source keyframe at or before the last frame every rung delivered, so the
            // rungs' next keyframe is the source keyframe right after it (no skipped segment, numbers stay aligned).
            int start = _replay.FindLastIndex(f => f.IsKeyframe && f.Dts <= resume);
            if (start >= 0)
            {
                for (int i = start; i < _replay.Count; i++) muxer.Write(buffer, _replay[i]);
                lastWritten = _replay[^1].Dts;
            }
        }
        try
        {
            int? epoch = null;
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap) return PumpEnd.Gap;
                if (read.Frame is not { } frame) break;
                // A new publish whose drop this reader missed (it fell behind): the same as a gap.
                if (epoch is int e && frame.Epoch != e)
                {
                    frame.Release();
                    return PumpEnd.Gap;
                }
                epoch = frame.Epoch;
                try
                {
                    if (frame.Kind == MediaKind.Video && frame.Dts > lastWritten)
                    {
                        if (muxer.Write(buffer, frame)) Remember(frame);
                        lastWritten = frame.Dts;
                    }
                }
                finally { frame.Release(); }
                if (buffer.WrittenCount == 0) continue;
                await stdin.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                buffer.ResetWrittenCount();
                await stdin.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            return PumpEnd.SourceEnded;
        }
        catch (IOException)
        {
            return PumpEnd.Broken;
        }
        catch (OperationCanceledException)
        {
            return PumpEnd.Broken;
        }
    }

    /// <summary>Lets go of the kept frames: after a gap nothing from before it is replayed, and at the session's end.</summary>
    public void ForgetReplay()
    {
        foreach (var f in _replay) f.Release();
        _replay.Clear();
    }

    /// <summary>
    /// Keeps the source video a restart replays: from the keyframe at or before the rungs' last delivered frame (nothing
    /// older can be needed), bounded by <see cref="MaxReplayFrames"/>.
    /// </summary>
    private void Remember(MediaFrame frame)
    {
        if (frame.IsKeyframe && delivered() is long reached)
        {
            int from = _replay.FindLastIndex(f => f.IsKeyframe && f.Dts <= reached);
            if (from > 0)
            {
                for (int i = 0; i < from; i++) _replay[i].Release();
                _replay.RemoveRange(0, from);
            }
        }
        if (_replay.Count >= MaxReplayFrames)
        {
            ForgetReplay();
            if (!frame.IsKeyframe) return;
        }
        _replay.Add(frame.AddRef());
    }
}
