using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Packager.Live;

/// <summary>
/// Feeds one broadcast's <see cref="StreamPackager"/> from the hub: the source's frames (a reconnect's join, a drop's
/// interrupt, captions found on the way), through <see cref="FeedRenditionAsync"/> each transcoded rung's, and through
/// <see cref="FeedAlternateAudioAsync"/> each of the encoder's alternate audio tracks.
/// The source's frames come from one reader, so an instance is used by one task at a time.
/// </summary>
internal sealed class BroadcastFeed(StreamPackager packager, LiveStream stream, bool sawVideo, bool sourceVideo, CaptionDeclaration captions,
    ILogger logger)
{
    // Where the source reader is: the publish epoch it packages, and whether the drop before the next one was handled.
    private int _epoch;
    private bool _interrupted;

    /// <summary>One frame of the source: captions declared once seen, a new publish joined, then the frame packaged.</summary>
    public async Task PushAsync(MediaFrame frame, CancellationToken cancellationToken)
    {
        await DeclareCaptionsIfSeenAsync(cancellationToken).ConfigureAwait(false);
        await JoinIfNewEpochAsync(frame, cancellationToken).ConfigureAwait(false);
        await PushFrameAsync(frame, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The publisher dropped: what the source video and the audio hold is stored now, not at the join.
    /// Without passthrough the audio closes at the leading rung's end, once its ffmpeg has drained too.
    /// </summary>
    public async Task DropAsync(CancellationToken cancellationToken)
    {
        if (!_interrupted) await packager.InterruptAsync(sourceVideo ? 0 : -1, cancellationToken).ConfigureAwait(false);
        _interrupted = true;
    }

    /// <summary>CMAF here carries AAC only (CmafWriter).</summary>
    public static bool IsPackageableAudio(MediaFrame frame) => frame.Kind == MediaKind.Audio && frame.Track.Codec == Codec.Aac;

    /// <summary>
    /// Feeds one transcoded rendition. After a transcoder restart (a new sequence header, i.e. a new track instance)
    /// frames are dropped until a keyframe later than the last frame packaged, so the rendition never goes back in
    /// time and never continues with frames whose references were in the previous encoder run. A rendition that ends
    /// while its source is still live (the transcoder shed it: the machine cannot keep up) is retired: its playlist
    /// ends and the master playlist and MPD stop offering it.
    /// </summary>
    public static async Task FeedRenditionAsync(StreamPackager packager, LiveStream source, int index, LiveStreamReader reader, ILogger logger,
        CancellationToken cancellationToken)
    {
        using var _ = reader;
        var rendition = reader.Stream;
        MediaTrack? track = null;
        long lastDts = long.MinValue;
        bool resync = false;
        try
        {
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap)
                {
                    // The source's publisher dropped and this rung's ffmpeg drained: close its segment at its last frame,
                    // so every rendition's boundary stays at the drop and the join.
                    await packager.InterruptRenditionAsync(index, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                if (read.Frame is not { } frame) break;
                if (frame.Kind != MediaKind.Video) { frame.Release(); continue; }
                if (track is not null && !ReferenceEquals(frame.Track, track)) resync = true;
                track = frame.Track;
                if (resync)
                {
                    if (!frame.IsKeyframe || frame.Dts <= lastDts) { frame.Release(); continue; }
                    resync = false;
                    await packager.MarkDiscontinuityAsync(index, cancellationToken).ConfigureAwait(false);
                }
                else if (frame.Dts < lastDts) { frame.Release(); continue; }
                lastDts = frame.Dts;
                await packager.PushVideoAsync(index, frame, cancellationToken).ConfigureAwait(false);
            }
            // The source completes before its rungs drain, so a rung that ends first was stopped on its own.
            // The leading rendition (the top rung without passthrough) times audio: it stays listed, its segments just stop.
            if (!source.IsCompleted && index > 0 && await packager.RetireVideoAsync(index, cancellationToken).ConfigureAwait(false))
                logger.LogRetired(source.Name, rendition.Name);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogFailed(ex, rendition.Name);
        }
    }

    /// <summary>
    /// Feeds one of the encoder's alternate audio tracks into audio rendition <paramref name="index"/>. A drop and a join
    /// need nothing here: the source's reader interrupts and resumes every audio rendition at once (audio this reader had
    /// not reached at the drop lands before the next video start, and is dropped like the default's would be).
    /// </summary>
    public static async Task FeedAlternateAudioAsync(StreamPackager packager, int index, LiveStreamReader reader, ILogger logger,
        CancellationToken cancellationToken)
    {
        using var _ = reader;
        try
        {
            while (true)
            {
                var read = await reader.ReadOrGapAsync(cancellationToken).ConfigureAwait(false);
                if (read.IsGap) continue;
                if (read.Frame is not { } frame) break;
                if (IsPackageableAudio(frame)) await packager.PushAudioAsync(index, frame, cancellationToken).ConfigureAwait(false);
                else frame.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            logger.LogFailed(ex, reader.Stream.Name);
        }
    }

    /// <summary>
    /// Captions: the hub notes A/53 captions in the source's video as its frames arrive (<see cref="LiveStream.HasCaptions"/>).
    /// Caption inserters send cc_data with every picture, so with <see cref="CaptionDeclaration.Detect"/> the flag is
    /// normally up within the first frames, before the master playlist (written once every rendition has its first
    /// segment); a service that starts later gets the master rewritten. The check per frame is one volatile read.
    /// </summary>
    private async Task DeclareCaptionsIfSeenAsync(CancellationToken cancellationToken)
    {
        if (!sawVideo || packager.Captions || captions != CaptionDeclaration.Detect || !stream.HasCaptions) return;
        await packager.DeclareCaptionsAsync(cancellationToken).ConfigureAwait(false);
        logger.LogCaptions(stream.Name, packager.BroadcastId);
    }

    /// <summary>
    /// A frame of a new publish (the encoder reconnected within the grace period): the broadcast continues after a
    /// discontinuity. Segments were already closed at the drop unless that gap was missed (a reader that fell behind).
    /// </summary>
    private async Task JoinIfNewEpochAsync(MediaFrame frame, CancellationToken cancellationToken)
    {
        if (frame.Epoch == _epoch) return;
        if (!_interrupted) await packager.JoinAsync(sourceVideo ? 0 : -1, cancellationToken).ConfigureAwait(false);
        _interrupted = false;
        _epoch = frame.Epoch;
        logger.LogJoined(packager.Channel, packager.BroadcastId, frame.Epoch);
    }

    private Task PushFrameAsync(MediaFrame frame, CancellationToken cancellationToken)
    {
        if (frame.Kind == MediaKind.Video)
        {
            if (sourceVideo) return packager.PushVideoAsync(0, frame, cancellationToken);
            // Video appeared after the stream was set up audio-only, or the source's video is not served (no passthrough).
            frame.Release();
            return Task.CompletedTask;
        }
        if (!IsPackageableAudio(frame))
        {
            // CMAF here carries AAC only (CmafWriter): other audio would fail the whole broadcast's init segment.
            // Ingest accepts only AAC today; a future non-AAC source is to be encoded to AAC by the transcoder.
            frame.Release();
            return Task.CompletedTask;
        }
        return packager.PushAudioAsync(frame, cancellationToken);
    }
}
