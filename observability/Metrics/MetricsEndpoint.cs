using Broadcast.Ingest.Rtmp;
using Broadcast.Media;
using Broadcast.Network;
using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.Transcoder;

namespace Broadcast.Observability.Metrics;

/// <summary>
/// <c>GET /metrics</c>: per-stream ingest counters, packager progress, connections and viewers in Prometheus text.
/// A private channel (private playback) is never named: its streams are summed into one series per metric under
/// <c>stream="_private"</c> (a value no slug can take; gauges that do not add up take the worst stream's value).
/// With <c>Metrics:Token</c> set, a scrape must send <c>Authorization: Bearer {token}</c>.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The label value under which every private channel's samples are aggregated.</summary>
    public const string PrivateStreams = "_private";

    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder endpoints)
    {
        // Compared in constant time, as hashes, so the length does not show either.
        BearerSecret? token = endpoints.ServiceProvider.GetRequiredService<IConfiguration>()["Metrics:Token"] is { Length: > 0 } configured
            ? new BearerSecret(configured.Trim())
            : null;
        endpoints.MapGet("/metrics", (HttpContext context) =>
        {
            if (token is not null && !token.MatchesAuthorization(context.Request.Headers.Authorization.ToString()))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                return Results.StatusCode(StatusCodes.Status401Unauthorized);
            }

            var services = context.RequestServices;
            var access = services.GetService<IPlaybackAccess>();
            var text = Render(
                services.GetService<LiveStreamRegistry>(),
                services.GetService<IRtmpConnections>(),
                services.GetService<IPackagerStatus>(),
                services.GetService<IViewerCounter>(),
                services.GetService<ITranscoderStatus>(),
                services.GetService<IUploadBacklog>(),
                limits: services.GetService<RtmpServer>()?.Limits,
                srt: services.GetService<Broadcast.Ingest.Srt.SrtServer>(),
                memory: services.GetService<RtmpServer>()?.Memory,
                isPrivate: access is null ? null : access.IsPrivate,
                origin: services.GetService<OriginMetrics>(),
                originCache: services.GetService<RecentObjectCache>(),
                whep: services.GetService<Broadcast.WebRtc.Whep.WhepService>()?.Status,
                steering: services.GetService<Broadcast.Origin.Steering.SteeringPathways>(),
                cmcd: services.GetService<Broadcast.Origin.Cmcd.CmcdAudience>(),
                edgeLog: services.GetService<Broadcast.Origin.EdgeLog.EdgeAccessLogReceiver>());
            return Results.Text(text, PrometheusTextWriter.ContentType);
        });
        return endpoints;
    }

    /// <summary>Tells whether a stream (channel slug) is private; <see cref="IPlaybackAccess.IsPrivate"/> fits.</summary>
    internal delegate bool PrivateStreamCheck(ReadOnlySpan<char> stream);

    internal static string Render(LiveStreamRegistry? streams, IRtmpConnections? connections, IPackagerStatus? packager, IViewerCounter? viewers,
        ITranscoderStatus? transcoder = null, IUploadBacklog? backlog = null, RtmpLimitCounters? limits = null, RtmpMemoryBudget? memory = null,
        PrivateStreamCheck? isPrivate = null, OriginMetrics? origin = null, RecentObjectCache? originCache = null,
        Broadcast.Ingest.Srt.SrtServer? srt = null, Broadcast.WebRtc.Whep.WhepStatus? whep = null,
        Broadcast.Origin.Steering.SteeringPathways? steering = null, Broadcast.Origin.Cmcd.CmcdAudience? cmcd = null,
        Broadcast.Origin.EdgeLog.EdgeAccessLogReceiver? edgeLog = null)
    {
        var w = new PrometheusTextWriter();
        if (whep is { } realTime)
        {
            w.Family("broadcast_whep_viewers", "gauge", "WebRTC (WHEP) viewers on this node now.")
             .Sample("broadcast_whep_viewers", realTime.Viewers);
            w.Family("broadcast_whep_viewer_cap", "gauge",
                "WebRTC viewers this node serves before it sends the next to LL-HLS (Whep:MaxViewersPerNode).")
             .Sample("broadcast_whep_viewer_cap", realTime.Cap);
            w.Family("broadcast_whep_sessions_total", "counter", "WHEP sessions started on this node.")
             .Sample("broadcast_whep_sessions_total", realTime.SessionsStarted);
            w.Family("broadcast_whep_refused_at_cap_total", "counter", "WHEP offers answered 503 because the node's viewer cap was reached.")
             .Sample("broadcast_whep_refused_at_cap_total", realTime.RefusedAtCap);
            w.Family("broadcast_whep_pending_sessions", "gauge",
                "Of the WebRTC viewers, the WHEP sessions answered that have not connected yet (Whep:MaxPendingSessions).")
             .Sample("broadcast_whep_pending_sessions", realTime.Pending);
            w.Family("broadcast_whep_evicted_unconnected_total", "counter",
                "WHEP sessions that had not connected, ended to make room for a new offer when the node was full.")
             .Sample("broadcast_whep_evicted_unconnected_total", realTime.EvictedUnconnected);
            w.Family("broadcast_janus_up", "gauge",
                "1 while this node's Janus runs and answers (it starts when a real-time channel goes live, or with the first WHEP viewer).")
             .Sample("broadcast_janus_up", realTime.JanusUp ? 1 : 0);
            w.Family("broadcast_whep_warm_channels", "gauge",
                "Live real-time channels whose WebRTC feed runs before any viewer asks (warmed at publish).")
             .Sample("broadcast_whep_warm_channels", realTime.WarmChannels);
            w.Family("broadcast_whep_relay_feeds", "gauge",
                "Real-time feeds this ingest node sends to origin-only nodes now (one per origin node and channel, whatever its viewers).")
             .Sample("broadcast_whep_relay_feeds", realTime.RelayFeeds);
            w.Family("broadcast_whep_relayed_channels", "gauge",
                "Channels this origin-only node relays from an ingest node now for its WebRTC viewers.")
             .Sample("broadcast_whep_relayed_channels", realTime.RelayedChannels);
        }
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
        if (srt is not null)
        {
            // SRT applies RTMP's per-address limits with counters of its own; slow clients and memory budgets are libsrt's.
            w.Family("broadcast_srt_publishers", "gauge", "SRT connections publishing now.")
             .Sample("broadcast_srt_publishers", srt.Publishers);
            w.Family("broadcast_srt_limit_hits_total", "counter", "SRT callers refused by a per-address limit.")
             .Sample("broadcast_srt_limit_hits_total", srt.Limits.ConnectionsRefusedPerIp, ("limit", "connections_per_ip"))
             .Sample("broadcast_srt_limit_hits_total", srt.Limits.HandshakesRateLimited, ("limit", "handshake_rate_per_ip"))
             .Sample("broadcast_srt_limit_hits_total", srt.Limits.BlockedPublishes, ("limit", "publish_blocked"));
            w.Family("broadcast_srt_publish_key_refused_total", "counter", "SRT callers refused for an unknown or revoked stream key.")
             .Sample("broadcast_srt_publish_key_refused_total", srt.Limits.FailedPublishes);
        }
        if (memory is not null)
        {
            w.Family("broadcast_rtmp_memory_held_bytes", "gauge", "Bytes all RTMP connections hold now against Rtmp:MemoryBudgetTotal.")
             .Sample("broadcast_rtmp_memory_held_bytes", memory.HeldBytes);
            w.Family("broadcast_rtmp_memory_budget_bytes", "gauge", "Rtmp:MemoryBudgetTotal.")
             .Sample("broadcast_rtmp_memory_budget_bytes", memory.Limit);
        }
        // Which label a stream's samples go under: its slug, or the one aggregate of the private channels.
        string LabelOf(string stream) => isPrivate is not null && isPrivate(stream) ? PrivateStreams : stream;
        if (streams is not null)
        {
            var active = streams.Active;
            w.Family("broadcast_streams_live", "gauge", "Streams being published now.").Sample("broadcast_streams_live", active.Count);
            var bytes = new StreamSeries("broadcast_stream_received_bytes_total", Aggregate.Sum);
            var videoFrames = new StreamSeries("broadcast_stream_video_frames_total", Aggregate.Sum);
            var audioFrames = new StreamSeries("broadcast_stream_audio_frames_total", Aggregate.Sum);
            var bitrate = new StreamSeries("broadcast_stream_bitrate_bits_per_second", Aggregate.Sum);
            var fps = new StreamSeries("broadcast_stream_video_fps", Aggregate.Min);
            var keyframes = new StreamSeries("broadcast_stream_keyframe_interval_seconds", Aggregate.Max);
            var dropped = new StreamSeries("broadcast_stream_reader_dropped_frames_total", Aggregate.Sum);
            var uptime = new StreamSeries("broadcast_stream_uptime_seconds", Aggregate.Max);
            foreach (var stream in active)
            {
                var s = stream.Statistics;
                string label = LabelOf(stream.Name);
                bytes.Add(label, s.Bytes);
                videoFrames.Add(label, s.VideoFrames);
                audioFrames.Add(label, s.AudioFrames);
                bitrate.Add(label, s.BitsPerSecond);
                fps.Add(label, s.VideoFpsMilli / 1000.0);
                keyframes.Add(label, s.KeyframeIntervalMs / 1000.0);
                dropped.Add(label, s.FramesDroppedByReaders);
                uptime.Add(label, (stream.TimeProvider.GetUtcNow() - stream.StartedAt).TotalSeconds);
            }
            bytes.Write(w, "counter", "Media payload bytes received from the encoder.");
            videoFrames.Write(w, "counter", "Video frames received from the encoder.");
            audioFrames.Write(w, "counter", "Audio frames received from the encoder.");
            bitrate.Write(w, "gauge", "Ingest bitrate over the last seconds.");
            fps.Write(w, "gauge", "Video frames per second received over the last seconds.");
            keyframes.Write(w, "gauge", "Media time between the last two keyframes.");
            dropped.Write(w, "counter", "Frames slow readers lost (resynced at the next keyframe).");
            uptime.Write(w, "gauge", "Seconds since the publish started.");
        }
        if (packager is not null)
        {
            var segments = new StreamSeries("broadcast_packager_segments_total", Aggregate.Sum);
            var lastSegment = new StreamSeries("broadcast_packager_last_segment_seconds", Aggregate.Max);
            var warnings = new StreamSeries("broadcast_packager_warnings", Aggregate.Sum);
            foreach (var status in packager.Streams)
            {
                string label = LabelOf(status.Channel);
                segments.Add(label, status.SegmentsWritten);
                lastSegment.Add(label, status.LastSegmentDuration?.TotalSeconds ?? 0);
                warnings.Add(label, status.Warnings.Count);
            }
            segments.Write(w, "counter", "Segments written for the stream's current broadcast.");
            lastSegment.Write(w, "gauge", "Duration of the newest segment.");
            warnings.Write(w, "gauge", "Packaging warnings standing for the stream.");
        }
        if (backlog?.GetStatus() is { } store)
        {
            w.Family("broadcast_store_pending_objects", "gauge", "Objects waiting to upload to object storage.")
                .Sample("broadcast_store_pending_objects", store.PendingObjects);
            w.Family("broadcast_store_pending_bytes", "gauge", "Bytes waiting to upload, in memory and spilled.")
                .Sample("broadcast_store_pending_bytes", store.PendingBytes);
            w.Family("broadcast_store_spilled_bytes", "gauge", "Waiting bytes spilled to the local directory.")
                .Sample("broadcast_store_spilled_bytes", store.SpilledBytes);
            w.Family("broadcast_store_uploaded_total", "counter", "Objects uploaded since start.")
                .Sample("broadcast_store_uploaded_total", store.Uploaded);
            w.Family("broadcast_store_dropped_total", "counter", "Live-only segments dropped because the backlog passed its bound.")
                .Sample("broadcast_store_dropped_total", store.Dropped);
            w.Family("broadcast_store_reachable", "gauge", "1 while uploads succeed, 0 from a failure until the next success.")
                .Sample("broadcast_store_reachable", store.StoreReachable ? 1 : 0);
        }
        if (transcoder is { Enabled: true })
        {
            w.Family("broadcast_transcoder_backend_info", "gauge", "The encoder back-end the start-up probe chose (1 for the chosen one).")
             .Sample("broadcast_transcoder_backend_info", 1, ("backend", transcoder.Backend ?? "none"));
            var speed = new StreamSeries("broadcast_transcode_speed", Aggregate.Min);
            var restarts = new StreamSeries("broadcast_transcode_restarts_total", Aggregate.Sum);
            var transcodeDropped = new StreamSeries("broadcast_transcode_dropped_frames_total", Aggregate.Sum);
            var shed = new StreamSeries("broadcast_transcode_shed_renditions", Aggregate.Sum);
            foreach (var status in transcoder.Streams)
            {
                string label = LabelOf(status.Channel);
                speed.Add(label, status.Speed ?? 0);
                restarts.Add(label, status.Restarts);
                transcodeDropped.Add(label, status.DroppedFrames);
                shed.Add(label, status.Shed.Count);
            }
            speed.Write(w, "gauge", "ffmpeg's reported speed for the stream's ladder (1.0 = real time).");
            restarts.Write(w, "counter", "Times the stream's ffmpeg was restarted.");
            transcodeDropped.Write(w, "counter", "Frames ffmpeg dropped for the stream.");
            shed.Write(w, "gauge", "Renditions shed because the machine could not keep up.");
        }
        if (viewers is not null)
        {
            // Counted where viewers arrive: this node's live streams, and every stream this node served (an origin-only
            // node has no live stream of its own; behind a CDN edge its clients are the edges).
            var watching = new StreamSeries("broadcast_viewers", Aggregate.Sum);
            var names = new SortedSet<string>(viewers.Channels.Where(c => viewers.GetViewers(c) > 0), StringComparer.Ordinal);
            if (streams is not null) foreach (var stream in streams.Active) names.Add(stream.Name);
            foreach (var name in names) watching.Add(LabelOf(name), viewers.GetViewers(name));
            watching.Write(w, "gauge", "Distinct clients fetching the stream from this node in the last 30 s.");
        }
        if (cmcd is not null) WriteCmcd(w, cmcd, LabelOf);
        if (origin is not null) WriteOrigin(w, origin, originCache);
        if (edgeLog is not null)
        {
            w.Family("broadcast_edge_log_lines_total", "counter",
                    "Datagrams of the edges' audience log (Origin:EdgeLogPort): counted in the audience, ignored (not a viewer's request), " +
                    "over the channel cap (4096 channels counted at once), malformed, or from a source Origin:EdgeLogSources does not list.")
             .Sample("broadcast_edge_log_lines_total", edgeLog.Counted, ("result", "counted"))
             .Sample("broadcast_edge_log_lines_total", edgeLog.Ignored, ("result", "ignored"))
             .Sample("broadcast_edge_log_lines_total", edgeLog.OverChannelCap, ("result", "channel_cap"))
             .Sample("broadcast_edge_log_lines_total", edgeLog.Malformed, ("result", "malformed"))
             .Sample("broadcast_edge_log_lines_total", edgeLog.Refused, ("result", "refused"));
        }
        if (steering is not null) WriteSteering(w, steering);
        // The managed heap as the last GC left it: with RSS (from /proc) it tells a leak from the GC's own growth (bench/soak.sh).
        var gc = GC.GetGCMemoryInfo();
        w.Family("broadcast_gc_heap_bytes", "gauge", "Managed heap size after the last garbage collection.")
            .Sample("broadcast_gc_heap_bytes", gc.HeapSizeBytes);
        w.Family("broadcast_gc_committed_bytes", "gauge", "Memory the GC has committed.")
            .Sample("broadcast_gc_committed_bytes", gc.TotalCommittedBytes);
        return w.ToString();
    }

    /// <summary>Content steering: each pathway's health and the players the steering server placed on it.</summary>
    private static void WriteSteering(PrometheusTextWriter w, Broadcast.Origin.Steering.SteeringPathways steering)
    {
        var statuses = steering.Statuses();
        w.Family("broadcast_steering_pathway_healthy", "gauge", "1 while the pathway's probes succeed (Steering:FailuresBeforeUnhealthy), else 0.");
        foreach (var p in statuses) w.Sample("broadcast_steering_pathway_healthy", p.Healthy ? 1 : 0, ("pathway", p.Id));
        w.Family("broadcast_steering_pathway_drained", "gauge", "1 while the operator has drained the pathway.");
        foreach (var p in statuses) w.Sample("broadcast_steering_pathway_drained", p.Drained ? 1 : 0, ("pathway", p.Id));
        w.Family("broadcast_steering_pathway_weight", "gauge", "The pathway's share of new viewers (configured or set by the operator).");
        foreach (var p in statuses) w.Sample("broadcast_steering_pathway_weight", p.Weight, ("pathway", p.Id));
        w.Family("broadcast_steering_probe_seconds", "gauge", "How long the pathway's last probe took.");
        foreach (var p in statuses) w.Sample("broadcast_steering_probe_seconds", p.LastLatencyMilliseconds / 1000.0, ("pathway", p.Id));
        w.Family("broadcast_steering_viewers", "gauge",
            "Players the steering server placed first on the pathway in the last whole TTL (each asks once per TTL).");
        foreach (var p in statuses) w.Sample("broadcast_steering_viewers", p.Viewers, ("pathway", p.Id));
        w.Family("broadcast_steering_decisions_total", "counter", "Steering answers that put the pathway first.");
        foreach (var p in statuses) w.Sample("broadcast_steering_decisions_total", p.Requests, ("pathway", p.Id));
        w.Family("broadcast_steering_moves_total", "counter", "Steering answers that moved a player to the pathway from another.");
        foreach (var p in statuses) w.Sample("broadcast_steering_moves_total", p.Moves, ("pathway", p.Id));
    }

    private static void WriteOrigin(PrometheusTextWriter w, OriginMetrics origin, RecentObjectCache? cache)
    {
        var kinds = Enum.GetValues<OriginRequestKind>();
        w.Family("broadcast_origin_requests_total", "counter", "Origin requests by what was asked for and the status class answered.");
        foreach (var kind in kinds)
        {
            for (int c = 0; c < OriginMetrics.StatusClasses.Length; c++)
            {
                long n = origin.Requests(kind, c);
                if (n > 0) w.Sample("broadcast_origin_requests_total", n, ("kind", KindLabel(kind)), ("status", OriginMetrics.StatusClasses[c]));
            }
        }

        w.Family("broadcast_origin_request_seconds", "histogram",
            "Time from request to the end of the answer (blocking reloads and hinted parts include their wait).");
        foreach (var kind in kinds)
        {
            long total = origin.CumulativeBucket(kind, OriginMetrics.Buckets.Length);
            if (total == 0) continue;
            string label = KindLabel(kind);
            for (int b = 0; b < OriginMetrics.Buckets.Length; b++)
            {
                w.Sample("broadcast_origin_request_seconds_bucket", origin.CumulativeBucket(kind, b),
                    ("kind", label), ("le", OriginMetrics.Buckets[b].ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }

            w.Sample("broadcast_origin_request_seconds_bucket", total, ("kind", label), ("le", "+Inf"));
            w.Sample("broadcast_origin_request_seconds_sum", origin.SecondsSum(kind), ("kind", label));
            w.Sample("broadcast_origin_request_seconds_count", total, ("kind", label));
        }

        if (cache is not null)
        {
            w.Family("broadcast_origin_cache_reads_total", "counter", "Origin reads answered from its memory cache (hit) or from the store (miss).")
             .Sample("broadcast_origin_cache_reads_total", cache.Hits, ("result", "hit"))
             .Sample("broadcast_origin_cache_reads_total", cache.Misses, ("result", "miss"));
        }
    }

    private static string KindLabel(OriginRequestKind kind) => kind switch
    {
        OriginRequestKind.Playlist => "playlist",
        OriginRequestKind.BlockingPlaylist => "blocking_playlist",
        OriginRequestKind.Segment => "segment",
        OriginRequestKind.Part => "part",
        OriginRequestKind.Time => "time",
        _ => "other",
    };

    /// <summary>
    /// The players' own reports (CMCD) per stream over the viewer window: a stream label per channel, so bounded as the
    /// channels are; a figure no player of the stream sent is left out rather than written as -1.
    /// </summary>
    private static void WriteCmcd(PrometheusTextWriter w, Broadcast.Origin.Cmcd.CmcdAudience cmcd, Func<string, string> labelOf)
    {
        var sessions = new StreamSeries("broadcast_cmcd_sessions", Aggregate.Sum);
        var stalled = new StreamSeries("broadcast_cmcd_stalled_sessions", Aggregate.Sum);
        var stalls = new StreamSeries("broadcast_cmcd_stalls", Aggregate.Sum);
        var startup = new StreamSeries("broadcast_cmcd_startup_seconds", Aggregate.Max);
        var buffer = new StreamSeries("broadcast_cmcd_buffer_seconds", Aggregate.Min);
        var bitrate = new StreamSeries("broadcast_cmcd_bitrate_bits_per_second", Aggregate.Min);
        var refused = new StreamSeries("broadcast_cmcd_sessions_refused_total", Aggregate.Sum);
        long malformed = 0;
        foreach (var name in new SortedSet<string>(cmcd.Channels, StringComparer.Ordinal))
        {
            if (cmcd.Quality(name) is not { } q) continue;
            malformed = q.MalformedValues;
            string label = labelOf(name);
            refused.Add(label, q.SessionsRefused);
            if (q.Sessions == 0) continue;
            sessions.Add(label, q.Sessions);
            stalled.Add(label, q.StalledSessions);
            stalls.Add(label, q.Stalls);
            if (q.MedianStartupMs >= 0) startup.Add(label, q.MedianStartupMs / 1000.0);
            if (q.MedianBufferMs >= 0) buffer.Add(label, q.MedianBufferMs / 1000.0);
            if (q.MeanBitrateKbps >= 0) bitrate.Add(label, q.MeanBitrateKbps * 1000.0);
        }

        sessions.Write(w, "gauge", "Playback sessions whose players reported CMCD to this node in the last 30 s.");
        stalled.Write(w, "gauge", "Of those, sessions whose buffer ran empty (CMCD bs) in the last 30 s.");
        stalls.Write(w, "gauge", "Times a reporting player's buffer ran empty in the last 30 s.");
        startup.Write(w, "gauge", "Median time from a session's first request to its first media object.");
        buffer.Write(w, "gauge", "Median of the reporting players' latest buffer lengths (CMCD bl).");
        bitrate.Write(w, "gauge", "Mean bitrate of the rungs the reporting players play now (CMCD br).");
        refused.Write(w, "counter", "Sessions not tracked because the stream's table was full (Origin:CmcdMaxSessionsPerChannel).");
        w.Family("broadcast_cmcd_malformed_values_total", "counter", "CMCD values dropped as malformed since the node started.")
            .Sample("broadcast_cmcd_malformed_values_total", malformed);
    }

    private enum Aggregate
    {
        Sum,
        Min,
        Max,
    }

    /// <summary>
    /// One metric's samples by stream label, in the order first seen. Several streams under one label (the private
    /// aggregate) combine: counters and additive gauges sum, a speed or frame rate keeps the lowest, an interval or
    /// age the highest, so the aggregate still shows the worst stream.
    /// </summary>
    private sealed class StreamSeries(string name, Aggregate aggregate)
    {
        private readonly List<(string Label, double Value)> _samples = [];
        private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

        public void Add(string label, double value)
        {
            if (!_index.TryGetValue(label, out int i))
            {
                _index[label] = _samples.Count;
                _samples.Add((label, value));
                return;
            }

            double current = _samples[i].Value;
            _samples[i] = (label, aggregate switch
            {
                Aggregate.Min => Math.Min(current, value),
                Aggregate.Max => Math.Max(current, value),
                _ => current + value,
            });
        }

        public void Write(PrometheusTextWriter w, string type, string help)
        {
            w.Family(name, type, help);
            foreach (var (label, value) in _samples) w.Sample(name, value, ("stream", label));
        }
    }
}
