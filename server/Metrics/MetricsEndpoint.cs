using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.Packager.Storage.S3;
using Broadcast.Transcoder;

namespace Broadcast.Server.Metrics;

/// <summary><c>GET /metrics</c>: per-stream ingest counters, packager progress, connections and viewers in Prometheus text.</summary>
internal static class MetricsEndpoint
{
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/metrics", (HttpContext context) =>
        {
            var services = context.RequestServices;
            var text = Render(
                services.GetService<LiveStreamRegistry>(),
                services.GetService<IRtmpConnections>(),
                services.GetService<IPackagerStatus>(),
                services.GetService<IViewerCounter>(),
                services.GetService<ITranscoderStatus>(),
                services.GetService<IUploadBacklog>(),
                limits: services.GetService<RtmpServer>()?.Limits,
                memory: services.GetService<RtmpServer>()?.Memory);
            return Results.Text(text, PrometheusTextWriter.ContentType);
        });
        return endpoints;
    }

    internal static string Render(LiveStreamRegistry? streams, IRtmpConnections? connections, IPackagerStatus? packager, IViewerCounter? viewers,
        ITranscoderStatus? transcoder = null, IUploadBacklog? backlog = null, RtmpLimitCounters? limits = null, RtmpMemoryBudget? memory = null)
    {
        var w = new PrometheusTextWriter();
        if (connections is not null)
        {
            w.Family("broadcast_rtmp_connections", "gauge", "RTMP connections open now.")
             .Sample("broadcast_rtmp_connections", connections.Count);
        }
        if (limits is not null)
        {
            w.Family("broadcast_rtmp_limit_hits_total", "counter", "RTMP connections and publishes refused or closed by a hostile-client limit.")
             .Sample("broadcast_rtmp_limit_hits_total", limits.ConnectionsRefusedPerIp, ("limit", "connections_per_ip"))
             .Sample("broadcast_rtmp_limit_hits_total", limits.HandshakesRateLimited, ("limit", "handshake_rate_per_ip"))
             .Sample("broadcast_rtmp_limit_hits_total", limits.SlowClientsClosed, ("limit", "slow_client"))
             .Sample("broadcast_rtmp_limit_hits_total", limits.BlockedPublishes, ("limit", "publish_blocked"))
             .Sample("broadcast_rtmp_limit_hits_total", limits.MemoryBudgetCloses, ("limit", "memory_budget"));
            w.Family("broadcast_rtmp_publish_key_refused_total", "counter", "Publishes refused for an unknown or revoked stream key.")
             .Sample("broadcast_rtmp_publish_key_refused_total", limits.FailedPublishes);
        }
        if (memory is not null)
        {
            w.Family("broadcast_rtmp_memory_held_bytes", "gauge", "Bytes all RTMP connections hold now against Rtmp:MemoryBudgetTotal.")
             .Sample("broadcast_rtmp_memory_held_bytes", memory.HeldBytes);
            w.Family("broadcast_rtmp_memory_budget_bytes", "gauge", "Rtmp:MemoryBudgetTotal.")
             .Sample("broadcast_rtmp_memory_budget_bytes", memory.Limit);
        }
        if (streams is not null)
        {
            var active = streams.Active;
            w.Family("broadcast_streams_live", "gauge", "Streams being published now.").Sample("broadcast_streams_live", active.Count);
            w.Family("broadcast_stream_received_bytes_total", "counter", "Media payload bytes received from the encoder.");
            w.Family("broadcast_stream_video_frames_total", "counter", "Video frames received from the encoder.");
            w.Family("broadcast_stream_audio_frames_total", "counter", "Audio frames received from the encoder.");
            w.Family("broadcast_stream_bitrate_bits_per_second", "gauge", "Ingest bitrate over the last seconds.");
            w.Family("broadcast_stream_video_fps", "gauge", "Video frames per second received over the last seconds.");
            w.Family("broadcast_stream_keyframe_interval_seconds", "gauge", "Media time between the last two keyframes.");
            w.Family("broadcast_stream_reader_dropped_frames_total", "counter", "Frames slow readers lost (resynced at the next keyframe).");
            w.Family("broadcast_stream_uptime_seconds", "gauge", "Seconds since the publish started.");
            foreach (var stream in active)
            {
                var s = stream.Statistics;
                var label = ("stream", stream.Name);
                w.Sample("broadcast_stream_received_bytes_total", s.Bytes, label)
                 .Sample("broadcast_stream_video_frames_total", s.VideoFrames, label)
                 .Sample("broadcast_stream_audio_frames_total", s.AudioFrames, label)
                 .Sample("broadcast_stream_bitrate_bits_per_second", s.BitsPerSecond, label)
                 .Sample("broadcast_stream_video_fps", s.VideoFpsMilli / 1000.0, label)
                 .Sample("broadcast_stream_keyframe_interval_seconds", s.KeyframeIntervalMs / 1000.0, label)
                 .Sample("broadcast_stream_reader_dropped_frames_total", s.FramesDroppedByReaders, label)
                 .Sample("broadcast_stream_uptime_seconds", (stream.TimeProvider.GetUtcNow() - stream.StartedAt).TotalSeconds, label);
            }
        }
        if (packager is not null)
        {
            w.Family("broadcast_packager_segments_total", "counter", "Segments written for the stream's current broadcast.");
            w.Family("broadcast_packager_last_segment_seconds", "gauge", "Duration of the newest segment.");
            w.Family("broadcast_packager_warnings", "gauge", "Packaging warnings standing for the stream.");
            foreach (var status in packager.Streams)
            {
                var label = ("stream", status.Channel);
                w.Sample("broadcast_packager_segments_total", status.SegmentsWritten, label)
                 .Sample("broadcast_packager_last_segment_seconds", status.LastSegmentDuration?.TotalSeconds ?? 0, label)
                 .Sample("broadcast_packager_warnings", status.Warnings.Count, label);
            }
        }
        if (backlog?.GetStatus() is { } store)
        {
            w.Family("broadcast_store_pending_objects", "gauge", "Objects waiting to upload to object storage.").Sample("broadcast_store_pending_objects", store.PendingObjects);
            w.Family("broadcast_store_pending_bytes", "gauge", "Bytes waiting to upload, in memory and spilled.").Sample("broadcast_store_pending_bytes", store.PendingBytes);
            w.Family("broadcast_store_spilled_bytes", "gauge", "Waiting bytes spilled to the local directory.").Sample("broadcast_store_spilled_bytes", store.SpilledBytes);
            w.Family("broadcast_store_uploaded_total", "counter", "Objects uploaded since start.").Sample("broadcast_store_uploaded_total", store.Uploaded);
            w.Family("broadcast_store_dropped_total", "counter", "Live-only segments dropped because the backlog passed its bound.").Sample("broadcast_store_dropped_total", store.Dropped);
            w.Family("broadcast_store_reachable", "gauge", "1 while uploads succeed, 0 from a failure until the next success.").Sample("broadcast_store_reachable", store.StoreReachable ? 1 : 0);
        }
        if (transcoder is { Enabled: true })
        {
            w.Family("broadcast_transcoder_backend_info", "gauge", "The encoder back-end the start-up probe chose (1 for the chosen one).")
             .Sample("broadcast_transcoder_backend_info", 1, ("backend", transcoder.Backend ?? "none"));
            w.Family("broadcast_transcode_speed", "gauge", "ffmpeg's reported speed for the stream's ladder (1.0 = real time).");
            w.Family("broadcast_transcode_restarts_total", "counter", "Times the stream's ffmpeg was restarted.");
            w.Family("broadcast_transcode_dropped_frames_total", "counter", "Frames ffmpeg dropped for the stream.");
            w.Family("broadcast_transcode_shed_renditions", "gauge", "Renditions shed because the machine could not keep up.");
            foreach (var status in transcoder.Streams)
            {
                var label = ("stream", status.Channel);
                w.Sample("broadcast_transcode_speed", status.Speed ?? 0, label)
                 .Sample("broadcast_transcode_restarts_total", status.Restarts, label)
                 .Sample("broadcast_transcode_dropped_frames_total", status.DroppedFrames, label)
                 .Sample("broadcast_transcode_shed_renditions", status.Shed.Count, label);
            }
        }
        if (viewers is not null && streams is not null)
        {
            w.Family("broadcast_viewers", "gauge", "Distinct clients fetching the stream in the last 30 s.");
            foreach (var stream in streams.Active) w.Sample("broadcast_viewers", viewers.GetViewers(stream.Name), ("stream", stream.Name));
        }
        // The managed heap as the last GC left it: with RSS (from /proc) it tells a leak from the GC's own growth (bench/soak.sh).
        var gc = GC.GetGCMemoryInfo();
        w.Family("broadcast_gc_heap_bytes", "gauge", "Managed heap size after the last garbage collection.").Sample("broadcast_gc_heap_bytes", gc.HeapSizeBytes);
        w.Family("broadcast_gc_committed_bytes", "gauge", "Memory the GC has committed.").Sample("broadcast_gc_committed_bytes", gc.TotalCommittedBytes);
        return w.ToString();
    }
}
