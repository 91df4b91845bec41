using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;

namespace Broadcast.TestSupport;

/// <summary>
/// The VideoPacketType of the tracks in a multitrack video message (Enhanced RTMP v2), the low nibble of its second byte: the
/// kinds this sender sends.
/// </summary>
public enum MultitrackTrackPacketType : byte
{
    /// <summary>The track body is the decoder configuration record (avcC, hvcC).</summary>
    SequenceStart = 0,

    /// <summary>The track body is an SI24 composition time, then the length-prefixed NAL units.</summary>
    CodedFrames = 1,

    /// <summary>The track body is the length-prefixed NAL units; the composition time is zero.</summary>
    CodedFramesX = 3,
}

/// <summary>One track in a multitrack video message: its codec, its id and the bytes after its track header.</summary>
public readonly record struct MultitrackVideoTrackBody(uint FourCc, byte TrackId, ReadOnlyMemory<byte> Body);

/// <summary>One RTMP audio or video message of the sender's schedule, sent when <see cref="TimestampMs"/> is due.</summary>
public sealed record MultitrackScheduledMessage(bool IsVideo, uint TimestampMs, byte[] Body)
{
    /// <summary>A decoder configuration (a video or audio sequence start): sent once, not again when the media loops.</summary>
    public bool IsSequenceStart { get; init; }
}

/// <summary>
/// TEST ONLY. Publishes an Enhanced RTMP v2 multitrack video ladder (plus AAC audio) to a loopback RTMP server, since no encoder
/// on the test machines sends multitrack (Debian's ffmpeg 5.1 and OBS 29 do not). The ladder is encoded once with ffmpeg (faster
/// than real time), then every message is sent through the project's <see cref="RtmpPublishClient"/> when its timestamp is
/// due, as <c>ffmpeg -re</c> paces. The multitrack bytes are written here from the specification, not by the server's own
/// multitrack code, so a test built on this sender checks the server's parser against an independent reading of the spec.
/// </summary>
public sealed partial class TestOnlyMultitrackRtmpSender : IAsyncDisposable
{
    private const byte IsExHeaderBit = 0x80;
    private const byte FrameTypeKeyframe = 1;
    private const byte FrameTypeInterFrame = 2;
    private const byte VideoPacketTypeMultitrack = 6;
    private const int MaxTrackBodyLength = 0xFFFFFF; // sizeOfVideoTrack and sizeOfAudioTrack are UI24

    private readonly RtmpPublishClient _client;
    private readonly IReadOnlyList<MultitrackScheduledMessage> _schedule;
    private readonly int _loops;
    private readonly long _loopPeriodMs;
    private readonly CancellationTokenSource _stop = new();
    private int _messagesSent;
    private int _disposed;

    private TestOnlyMultitrackRtmpSender(RtmpPublishClient client, MultitrackEncoding encoding, IReadOnlyList<MultitrackScheduledMessage> schedule,
        MultitrackRenditions options)
    {
        _client = client;
        _loops = options.Loops;
        _loopPeriodMs = (long)options.Duration.TotalMilliseconds;
        Encoding = encoding;
        _schedule = schedule;
        Completion = Task.CompletedTask;
    }

    /// <summary>What was encoded: every track's frames (with their shared timestamps) and the audio.</summary>
    public MultitrackEncoding Encoding { get; }

    /// <summary>Every message the sender sends, in order, sequence starts first.</summary>
    public IReadOnlyList<MultitrackScheduledMessage> Schedule => _schedule;

    /// <summary>
    /// Ends when the last message was sent or <see cref="Stop"/> was called; faults when the server refused or closed the publish.
    /// The connection stays open after the last message until <see cref="DisposeAsync"/>, so the stream stays live for a check.
    /// </summary>
    public Task Completion { get; private set; }

    /// <summary>Audio and video messages sent so far (onMetaData not counted).</summary>
    public int MessagesSent => Volatile.Read(ref _messagesSent);

    /// <summary>
    /// Encodes <paramref name="options"/>' ladder, connects and publishes to <paramref name="rtmpUrl"/>
    /// (<c>rtmp://127.0.0.1:port/app/streamkey</c>, loopback only), sends onMetaData and starts sending in the background.
    /// <paramref name="cancellationToken"/> bounds the start; <see cref="Stop"/> and <see cref="DisposeAsync"/> end the sending.
    /// </summary>
    public static async Task<TestOnlyMultitrackRtmpSender> StartAsync(string rtmpUrl, MultitrackRenditions options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var target = LoopbackTarget(rtmpUrl);
        options.Validate();
        var encoding = await MultitrackRenditionEncoder.EncodeAsync(options, cancellationToken).ConfigureAwait(false);
        return await StartCoreAsync(target, options, encoding, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Publishes an <paramref name="encoding"/> made earlier from <paramref name="options"/> (for instance
    /// <see cref="MultitrackRenditionEncoder.Read"/> of files kept by <see cref="MultitrackRenditionEncoder.EncodeAsync(MultitrackRenditions, string, CancellationToken)"/>),
    /// so repeated publishes of one ladder do not encode it again; otherwise as <see cref="StartAsync(string, MultitrackRenditions, CancellationToken)"/>.
    /// </summary>
    public static async Task<TestOnlyMultitrackRtmpSender> StartAsync(string rtmpUrl, MultitrackRenditions options, MultitrackEncoding encoding,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(encoding);
        var target = LoopbackTarget(rtmpUrl);
        options.Validate();
        if (encoding.Tracks.Count != options.Renditions.Count)
            throw new ArgumentException($"The encoding has {encoding.Tracks.Count} tracks; the options name {options.Renditions.Count} renditions.", nameof(encoding));
        return await StartCoreAsync(target, options, encoding, cancellationToken).ConfigureAwait(false);
    }

    private static RtmpPublishTarget LoopbackTarget(string rtmpUrl)
    {
        if (!RtmpPublishTarget.TryParse(rtmpUrl, null, out var target, out string? error))
            throw new ArgumentException($"'{rtmpUrl}' {error}", nameof(rtmpUrl));
        // A test helper that publishes whatever it is pointed at must never be pointed past the machine it runs on.
        if (target!.Host != "localhost" && !(IPAddress.TryParse(target.Host, out var address) && IPAddress.IsLoopback(address)))
            throw new ArgumentException($"the test-only sender publishes to loopback addresses only, not {target.Host}", nameof(rtmpUrl));
        return target;
    }

    private static async Task<TestOnlyMultitrackRtmpSender> StartCoreAsync(RtmpPublishTarget target, MultitrackRenditions options,
        MultitrackEncoding encoding, CancellationToken cancellationToken)
    {
        var schedule = BuildSchedule(encoding, options);
        var client = await RtmpPublishClient.PublishAsync(target, null, cancellationToken).ConfigureAwait(false);
        var sender = new TestOnlyMultitrackRtmpSender(client, encoding, schedule, options);
        try
        {
            await client.SendMetadataAsync(Metadata(encoding, options), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await sender.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        sender.Completion = Task.Run(() => sender.SendAsync(sender._stop.Token), CancellationToken.None);
        return sender;
    }

    /// <summary>Stops sending; <see cref="Completion"/> then ends without a fault. The connection closes on dispose.</summary>
    public void Stop()
    {
        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // already disposed, so already stopped
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        try
        {
            await Completion.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // a refusal or a closed connection was for the test to see through Completion; closing goes on regardless
        }
        await _client.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task SendAsync(CancellationToken token)
    {
        var clock = Stopwatch.StartNew();
        uint first = _schedule.Count > 0 ? _schedule[0].TimestampMs : 0;
        try
        {
            for (int loop = 0; loop < _loops; loop++)
            {
                // Each loop continues the timeline where the last ended: the media starts on a keyframe of every track, so
                // the server sees one longer stream, not a restart.
                uint offset = (uint)(loop * _loopPeriodMs);
                foreach (var message in _schedule)
                {
                    if (loop > 0 && message.IsSequenceStart) continue;
                    uint timestamp = message.TimestampMs + offset;
                    var wait = TimeSpan.FromMilliseconds(timestamp - first) - clock.Elapsed;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait, token).ConfigureAwait(false);
                    await _client.SendMessageAsync(message.IsVideo, timestamp, message.Body, token).ConfigureAwait(false);
                    Interlocked.Increment(ref _messagesSent);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stop()
        }
    }

    /// <summary>onMetaData describing track 0, the default track, as an encoder's first message does.</summary>
    private static AmfObject Metadata(MultitrackEncoding encoding, MultitrackRenditions options)
    {
        var top = encoding.Tracks[0];
        return new AmfObject
        {
            ["width"] = (double)top.Width,
            ["height"] = (double)top.Height,
            ["framerate"] = (double)MultitrackRenditions.FramesPerSecond,
            // A FourCC codec is named by the FourCC as a number (Enhanced RTMP, "Enhancing onMetaData").
            ["videocodecid"] = top.FourCc == MultitrackRenditionEncoder.FourCcAvc1 ? RtmpMetadata.AvcCodecId : (double)top.FourCc,
            ["videodatarate"] = (double)options.Renditions[0].BitrateKbps,
            ["audiocodecid"] = RtmpMetadata.AacCodecId,
            ["audiosamplerate"] = (double)MultitrackRenditions.AudioSampleRate,
            ["audiochannels"] = (double)MultitrackRenditions.AudioChannels,
            ["stereo"] = true,
            ["encoder"] = "Broadcast test-only multitrack sender",
        };
    }

    /// <summary>
    /// Every message to send, in order: the video sequence starts of all tracks first (before any coded frame), then audio
    /// and video by timestamp. Frame n of every track goes in one message (one per track with <see cref="MultitrackVideoLayout.OneTrack"/>);
    /// where the tracks disagree about frame n being a keyframe (a misaligned ladder), each track gets its own OneTrack
    /// message with its own frame type, so the server sees the disagreement rather than a frame type one track would contradict.
    /// </summary>
    public static IReadOnlyList<MultitrackScheduledMessage> BuildSchedule(MultitrackEncoding encoding, MultitrackRenditions options)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        ArgumentNullException.ThrowIfNull(options);
        var tracks = encoding.Tracks;
        var layout = options.Layout;
        var buffer = new ArrayBufferWriter<byte>();
        var sequenceStarts = new List<MultitrackScheduledMessage>();
        var media = new List<MultitrackScheduledMessage>();

        var configurations = tracks.Select(t => new MultitrackVideoTrackBody(t.FourCc, t.TrackId, t.DecoderConfiguration)).ToArray();
        if (layout == MultitrackVideoLayout.OneTrack)
        {
            foreach (var configuration in configurations)
                sequenceStarts.Add(Video(0, MultitrackVideoLayout.OneTrack, true, MultitrackTrackPacketType.SequenceStart, [configuration]));
        }
        else sequenceStarts.Add(Video(0, layout, true, MultitrackTrackPacketType.SequenceStart, configurations));

        if (encoding.SecondAudio.Count == 0) media.AddRange(encoding.Audio.Select(a => new MultitrackScheduledMessage(false, a.TimestampMs, a.Body)));
        else AddMultitrackAudio(encoding, options.AudioLayout, buffer, sequenceStarts, media);
        int frameCount = tracks.Min(t => t.Frames.Count);
        for (int n = 0; n < frameCount; n++)
        {
            var frames = tracks.Select(t => t.Frames[n]).ToArray();
            uint timestamp = frames[0].TimestampMs;
            bool allKeyframes = frames.All(f => f.IsKeyframe);
            bool keyframesAgree = allKeyframes || !frames.Any(f => f.IsKeyframe);
            if (layout == MultitrackVideoLayout.OneTrack || !keyframesAgree)
            {
                for (int t = 0; t < tracks.Count; t++)
                {
                    var packetType = PacketTypeFor([frames[t]], options.UseCodedFramesX);
                    media.Add(Video(timestamp, MultitrackVideoLayout.OneTrack, frames[t].IsKeyframe, packetType,
                        [CodedTrack(tracks[t], frames[t], packetType)]));
                }
            }
            else
            {
                var packetType = PacketTypeFor(frames, options.UseCodedFramesX);
                var bodies = tracks.Select((t, i) => CodedTrack(t, frames[i], packetType)).ToArray();
                media.Add(Video(timestamp, layout, allKeyframes, packetType, bodies));
            }
        }
        // OrderBy is stable: at equal times audio keeps its place before video, and each kind keeps its own order.
        return [.. sequenceStarts.Select(m => m with { IsSequenceStart = true }), .. media.OrderBy(m => m.TimestampMs).Select(Mark)];

        // ffmpeg's legacy AAC tags carry the AudioSpecificConfig as an AACPacketType 0 message (FLV spec, AUDIODATA).
        static MultitrackScheduledMessage Mark(MultitrackScheduledMessage m) =>
            !m.IsVideo && m.Body.Length >= 2 && m.Body[0] >> 4 == 10 && m.Body[1] == 0 ? m with { IsSequenceStart = true } : m;

        MultitrackScheduledMessage Video(uint timestamp, MultitrackVideoLayout messageLayout, bool keyframe, MultitrackTrackPacketType packetType,
            IReadOnlyList<MultitrackVideoTrackBody> bodies)
        {
            buffer.ResetWrittenCount();
            if (options.DefaultTrackAsPlainTag && bodies is [{ TrackId: 0 } only])
            {
                // A plain enhanced tag: IsExHeader, FrameType and the packet type in byte 0, the FourCC, then the same body.
                var span = buffer.GetSpan(5);
                span[0] = (byte)(IsExHeaderBit | ((keyframe ? FrameTypeKeyframe : FrameTypeInterFrame) << 4) | (byte)packetType);
                BinaryPrimitives.WriteUInt32BigEndian(span[1..], only.FourCc);
                buffer.Advance(5);
                buffer.Write(only.Body.Span);
            }
            else WriteMultitrackVideoBody(buffer, messageLayout, keyframe, packetType, bodies);
            return new MultitrackScheduledMessage(true, timestamp, buffer.WrittenSpan.ToArray());
        }
    }

    private static MultitrackTrackPacketType PacketTypeFor(IReadOnlyList<MultitrackEncodedFrame> frames, bool useCodedFramesX) =>
        useCodedFramesX && frames.All(f => f.CompositionTimeMs == 0) ? MultitrackTrackPacketType.CodedFramesX : MultitrackTrackPacketType.CodedFrames;

    /// <summary>A track body for coded frames: for avc1 and hvc1, CodedFrames puts the SI24 composition time before the NAL units.</summary>
    private static MultitrackVideoTrackBody CodedTrack(MultitrackEncodedTrack track, MultitrackEncodedFrame frame,
        MultitrackTrackPacketType packetType)
    {
        if (packetType == MultitrackTrackPacketType.CodedFramesX) return new MultitrackVideoTrackBody(track.FourCc, track.TrackId, frame.NalUnits);
        byte[] body = new byte[3 + frame.NalUnits.Length];
        int cts = frame.CompositionTimeMs;
        body[0] = (byte)(cts >> 16);
        body[1] = (byte)(cts >> 8);
        body[2] = (byte)cts;
        frame.NalUnits.Span.CopyTo(body.AsSpan(3));
        return new MultitrackVideoTrackBody(track.FourCc, track.TrackId, body);
    }

    /// <summary>
    /// Writes one Enhanced RTMP v2 multitrack video message body (ExVideoTagHeader with VideoPacketType.Multitrack, then the
    /// ExVideoTagBody's tracks):
    /// <code>
    /// IsExHeader(1)=1 FrameType(3) VideoPacketType(4)=Multitrack(6)
    /// AvMultitrackType(4) VideoPacketType(4)              the tracks' packet type
    /// [FourCC(32)]                                        unless ManyTracksManyCodecs
    /// per track: [FourCC(32)]                             only ManyTracksManyCodecs
    ///            trackId(8)
    ///            [sizeOfVideoTrack(UI24)]                 unless OneTrack: the bytes of the track body that follows
    ///            track body                               <see cref="MultitrackVideoTrackBody.Body"/>, as given
    /// </code>
    /// </summary>
    public static void WriteMultitrackVideoBody(IBufferWriter<byte> output, MultitrackVideoLayout layout, bool keyframe,
        MultitrackTrackPacketType packetType, IReadOnlyList<MultitrackVideoTrackBody> tracks)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tracks);
        if (tracks.Count == 0) throw new ArgumentException("A multitrack message carries at least one track.", nameof(tracks));
        if (layout == MultitrackVideoLayout.OneTrack && tracks.Count != 1)
            throw new ArgumentException("A OneTrack message carries exactly one track.", nameof(tracks));
        if (layout == MultitrackVideoLayout.ManyTracks && tracks.Any(t => t.FourCc != tracks[0].FourCc))
            throw new ArgumentException("ManyTracks names one FourCC for every track.", nameof(tracks));

        var header = output.GetSpan(6);
        header[0] = (byte)(IsExHeaderBit | (keyframe ? FrameTypeKeyframe : FrameTypeInterFrame) << 4 | VideoPacketTypeMultitrack);
        header[1] = (byte)((byte)layout << 4 | (byte)packetType);
        int headerLength = 2;
        if (layout != MultitrackVideoLayout.ManyTracksManyCodecs)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header[2..], tracks[0].FourCc);
            headerLength = 6;
        }
        output.Advance(headerLength);

        foreach (var track in tracks)
        {
            var trackHeader = output.GetSpan(8);
            int length = 0;
            if (layout == MultitrackVideoLayout.ManyTracksManyCodecs)
            {
                BinaryPrimitives.WriteUInt32BigEndian(trackHeader, track.FourCc);
                length = 4;
            }
            trackHeader[length++] = track.TrackId;
            if (layout != MultitrackVideoLayout.OneTrack)
            {
                int size = track.Body.Length;
                if (size > MaxTrackBodyLength)
                {
                    throw new ArgumentException(
                        $"Track {track.TrackId} is {size} bytes; sizeOfVideoTrack holds {MaxTrackBodyLength} at most.", nameof(tracks));
                }
                trackHeader[length++] = (byte)(size >> 16);
                trackHeader[length++] = (byte)(size >> 8);
                trackHeader[length++] = (byte)size;
            }
            output.Advance(length);
            output.Write(track.Body.Span);
        }
    }
}
