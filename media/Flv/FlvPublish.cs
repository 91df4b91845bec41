using System.Buffers;

namespace Broadcast.Media.Flv;

/// <summary>Why <see cref="FlvPublish.Write"/> stopped taking a stream's bytes.</summary>
public enum FlvPublishRefusal
{
    None,

    /// <summary>The hub of that name still has a publisher: these bytes are not published.</summary>
    HubInUse,

    /// <summary>The bytes can never be FLV tags (a page, a wrong URL, a corrupt stream).</summary>
    NotFlv,
}

/// <summary>
/// An FLV byte stream (ffmpeg's output on a pipe, another node's feed over HTTP) as a publish into a hub. The publish starts
/// at the first whole tag, so a source that never sends one never appears live; every tag's frames go through one
/// <see cref="FlvDemuxer"/>; <see cref="End"/> ends the publish. A frame the demuxer cannot read is skipped and kept as
/// <see cref="LastFrameError"/>: the stream goes on and the next keyframe heals the picture. Pull sources and the relays of
/// real-time channels between nodes publish this way, each with the <see cref="PublishTicket"/> the publish gate gave it.
/// Not thread-safe: one reader drives it.
/// </summary>
public sealed class FlvPublish(LiveStreamRegistry registry, PublishTicket ticket)
{
    private readonly FlvStreamReader _reader = new();
    private FlvDemuxer? _frames;
    private bool _ended;

    /// <summary>How these bytes come in (<see cref="LiveStream.Protocol"/>: <c>pull</c>, <c>relay</c>).</summary>
    public string? Protocol { get; init; }

    /// <summary>Called once, when the first tag has started the publish and before any of its frames are written.</summary>
    public Action<LiveStream>? Started { get; init; }

    /// <summary>The hub published into, from the first tag on.</summary>
    public LiveStream? Stream => _frames?.Stream;

    /// <summary>Why the last unreadable frame was skipped, or null while every frame was read.</summary>
    public string? LastFrameError { get; private set; }

    /// <summary>
    /// Publishes every whole tag of <paramref name="buffer"/> and returns how far it was consumed (an unfinished tag waits for
    /// more bytes). A <paramref name="refusal"/> other than <see cref="FlvPublishRefusal.None"/> means: stop reading this
    /// stream; <paramref name="error"/> then says what the bytes were.
    /// </summary>
    public SequencePosition Write(ReadOnlySequence<byte> buffer, out FlvPublishRefusal refusal, out string? error)
    {
        ObjectDisposedException.ThrowIf(_ended, this);
        var refused = FlvPublishRefusal.None;
        var position = _reader.Read(buffer, tag =>
        {
            if (_frames is null)
            {
                if (!registry.TryStartPublish(ticket, out var stream, Protocol))
                {
                    refused = FlvPublishRefusal.HubInUse;
                    return false;
                }

                _frames = new FlvDemuxer(stream);
                Started?.Invoke(stream);
            }

            if (!_frames.TryWrite(tag, out string? frameError) && frameError is not null) LastFrameError = frameError;
            return true;
        }, out error);
        refusal = refused != FlvPublishRefusal.None ? refused : error is null ? FlvPublishRefusal.None : FlvPublishRefusal.NotFlv;
        return position;
    }

    /// <summary>Ends the publish if it started (idempotent); no bytes are taken after it.</summary>
    public void End()
    {
        if (_ended) return;
        _ended = true;
        if (_frames is not null) registry.EndPublish(_frames.Stream);
    }
}
