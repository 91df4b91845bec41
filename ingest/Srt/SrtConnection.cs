using System.Net;
using Broadcast.Media;
using Broadcast.Media.MpegTs;

namespace Broadcast.Ingest.Srt;

/// <summary>One publishing SRT connection of an <see cref="SrtServer"/>; touched by its receive thread only.</summary>
internal sealed class SrtConnection(long id, int socket, string remote, IPAddress address, PublishDecision decision, LiveStream stream,
    MpegTsDemuxer demuxer, OpusToAacTranscoder opus)
{
    public long Id { get; } = id;

    public int Socket { get; } = socket;

    public string Remote { get; } = remote;

    public IPAddress Address { get; } = address;

    public PublishDecision Decision { get; } = decision;

    public LiveStream Stream { get; } = stream;

    public MpegTsDemuxer Demuxer { get; } = demuxer;

    /// <summary>Idle unless the publisher's program carries Opus audio.</summary>
    public OpusToAacTranscoder Opus { get; } = opus;

    /// <summary>What the connection's SCTE-35 asked of the stream so far.</summary>
    public SrtSpliceCues SpliceCues { get; } = new();

    public long BytesIn { get; set; }

    public long LastDataAt { get; set; } = Environment.TickCount64;

    public Action<LiveStream> OnCompleted { get; set; } = _ => { };

    public Action<LiveStream> OnReplaced { get; set; } = _ => { };

    /// <summary>The stream's <see cref="LiveStream.Resumes"/> when this connection took it: a higher count means another took it over.</summary>
    public int Resumes { get; set; }
}
