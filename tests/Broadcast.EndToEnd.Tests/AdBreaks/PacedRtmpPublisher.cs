using System.Diagnostics;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.EndToEnd.Tests.AdBreaks;

/// <summary>
/// An encoder that sends cue points: an FLV clip (made by ffmpeg) published at its own pace with the project's RTMP client
/// (ingest/Rtmp/Client, the one restream uses), so a test can put data messages such as onCuePoint between the frames on a
/// real RTMP connection. ffmpeg has no way to send onCuePoint.
/// </summary>
internal sealed class PacedRtmpPublisher : IAsyncDisposable
{
    private readonly RtmpPublishClient _client;
    private readonly List<MediaFrame> _frames;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sending;

    private PacedRtmpPublisher(RtmpPublishClient client, List<MediaFrame> frames)
    {
        _client = client;
        _frames = frames;
        _sending = Task.Run(SendAsync);
    }

    /// <summary>Frames sent so far.</summary>
    public int Sent { get; private set; }

    public static async Task<PacedRtmpPublisher> StartAsync(string flvClip, int rtmpPort, string streamKey)
    {
        var frames = Demux(await File.ReadAllBytesAsync(flvClip));
        var target = new RtmpPublishTarget(false, "127.0.0.1", rtmpPort, "live", streamKey);
        using var connect = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var client = await RtmpPublishClient.PublishAsync(target, null, connect.Token);
        return new PacedRtmpPublisher(client, frames);
    }

    /// <summary>Sends a data message now, stamped with the newest frame's time.</summary>
    public ValueTask SendAsync(RtmpDataMessage message, CancellationToken cancellationToken) => _client.SendDataAsync(message, cancellationToken);

    /// <summary>Each frame when its decode time comes, as a live encoder sends.</summary>
    private async Task SendAsync()
    {
        var clock = Stopwatch.StartNew();
        long firstMs = Ms(_frames[0]);
        foreach (var frame in _frames)
        {
            var due = TimeSpan.FromMilliseconds(Ms(frame) - firstMs) - clock.Elapsed;
            if (due > TimeSpan.Zero) await Task.Delay(due, _stop.Token).ConfigureAwait(false);
            await _client.SendFrameAsync(frame, _stop.Token).ConfigureAwait(false);
            Sent++;
        }
    }

    private static long Ms(MediaFrame frame) => Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Milliseconds);

    /// <summary>FLV tags through the one FLV demuxer into frames (a hub with one reader keeps them).</summary>
    private static List<MediaFrame> Demux(byte[] file)
    {
        if (!FlvFileHeader.TryRead(file, out _, out int headerBytes)) throw new InvalidDataException("not an FLV file");
        var stream = new LiveStream("clip");
        var demuxer = new FlvDemuxer(stream);
        using var reader = stream.OpenReader("frames", 1 << 20);
        int pos = headerBytes; // the header and the first PreviousTagSize
        string? bad;
        while (FlvTag.TryRead(file.AsSpan(pos), out var tag, out int consumed, out bad))
        {
            if (!demuxer.TryWrite(tag, out var error)) throw new InvalidDataException($"FLV tag at {pos}: {error}");
            pos += consumed;
        }

        if (bad is not null) throw new InvalidDataException($"FLV tag at {pos}: {bad}");
        stream.Complete();
        var frames = new List<MediaFrame>();
        while (reader.TryRead(out var frame) && frame is not null) frames.Add(frame);
        return frames;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { await _sending; } catch (OperationCanceledException) { }
        await _client.DisposeAsync();
        foreach (var f in _frames) f.Release();
        _stop.Dispose();
    }
}
