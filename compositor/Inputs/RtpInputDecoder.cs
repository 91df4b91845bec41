using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Broadcast.Compositor.Layouts;
using Broadcast.Processes;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// What arrives on an <see cref="RtpInputDecoder"/>'s ports: the video's RTP encoding name (<c>VP8</c>, <c>H264</c>),
/// whether Opus audio comes too, and how to ask the sender for a keyframe (a decoder that starts mid-stream needs one).
/// </summary>
public sealed record RtpFeed(string VideoCodec, bool HasAudio, Action RequestKeyframe)
{
    /// <summary>The video encodings this decoder writes an SDP for.</summary>
    public static bool IsSupportedVideo(string codec) => codec is "VP8" or "H264" or "VP9";
}

/// <summary>
/// A program input fed by plain RTP on two loopback ports it holds for its whole life (video with payload type
/// <see cref="VideoPayloadType"/>, Opus audio with <see cref="AudioPayloadType"/>): a WebRTC room's participant, forwarded
/// by the room's media server. Which participant feeds it changes over time (<see cref="Feed"/>); each feed is decoded by
/// a supervised ffmpeg that reads an SDP describing the ports. The input is missing while nobody feeds it and while the
/// feed sends no pictures (a participant whose network dropped), and present again with the next picture.
/// </summary>
/// <remarks>
/// The picture size is the source's, fitted within the canvas, and is known only once ffmpeg has decoded a keyframe:
/// it is read from ffmpeg's own description of its raw output on stderr before the first picture is read.
/// </remarks>
public sealed partial class RtpInputDecoder : InputDecoder
{
    public const int VideoPayloadType = 96;
    public const int AudioPayloadType = 111;

    /// <summary>How long without a new picture before the input counts as missing.</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan KeyframeRetry = TimeSpan.FromSeconds(1);
    private const int KeyframeRequests = 10;

    private readonly ILogger _logger;
    private readonly RtpRelay _video;
    private readonly RtpRelay _audio;
    private readonly Lock _gate = new();
    private RtpFeed? _feed;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RtpInputDecoder(string inputId, InputDecoderOptions options, ILogger logger, TimeProvider? time = null)
        : base(inputId, options, logger, time)
    {
        _logger = logger;
        _video = new RtpRelay();
        _audio = new RtpRelay();
    }

    /// <summary>The loopback UDP port video RTP goes to (held by this input for its whole life).</summary>
    public int VideoPort => _video.Port;

    /// <summary>The loopback UDP port Opus RTP goes to (held by this input for its whole life).</summary>
    public int AudioPort => _audio.Port;

    /// <summary>RTP datagrams received so far (video, audio).</summary>
    public (long Video, long Audio) Received => (_video.Received, _audio.Received);

    /// <summary>Who feeds the input now, or null.</summary>
    public RtpFeed? Current
    {
        get
        {
            lock (_gate) return _feed;
        }
    }

    /// <summary>Decodes <paramref name="feed"/> from now on (a running decode of another feed stops); null: nobody feeds it.</summary>
    public void Feed(RtpFeed? feed)
    {
        if (feed is not null
            && !RtpFeed.IsSupportedVideo(feed.VideoCodec)) throw new ArgumentException($"no RTP decoding for video '{feed.VideoCodec}'",
            nameof(feed));
        TaskCompletionSource changed;
        lock (_gate)
        {
            if (ReferenceEquals(_feed, feed)) return;
            _feed = feed;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
    }

    protected override async Task<RunVerdict> RunOnceAsync(CancellationToken cancellationToken)
    {
        RtpFeed feed;
        Task changed;
        while (true)
        {
            lock (_gate)
            {
                changed = _changed.Task;
                if (_feed is { } current)
                {
                    feed = current;
                    break;
                }
            }
            try { await changed.WaitAsync(cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return RunVerdict.Stop; }
        }

        return await RunVerdict.OfAttemptAsync(async token =>
        {
            try
            {
                string reason = await DecodeAsync(feed, changed, token).ConfigureAwait(false);
                LogEnded(InputId, reason.Length == 0 ? "its feed changed" : reason);
                return reason;
            }
            finally
            {
                MarkMissing();
            }
        }, Time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One ffmpeg run on <paramref name="feed"/>: "" when the feed changed, else why ffmpeg failed.</summary>
    private async Task<string> DecodeAsync(RtpFeed feed, Task changed, CancellationToken cancellationToken)
    {
        string sdpPath = Path.Combine(Path.GetTempPath(), $"broadcast-rtp-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.sdp");
        // This run's ffmpeg listens on ports of its own (RTCP on each next one); our relays forward the held ports to them.
        int videoPort = FreeUdpPortPair(), audioPort = FreeUdpPortPair(videoPort);
        await File.WriteAllTextAsync(sdpPath, Sdp(feed, videoPort, audioPort), cancellationToken).ConfigureAwait(false);
        _video.RelayTo(videoPort);
        _audio.RelayTo(feed.HasAudio ? audioPort : 0);
        try
        {
            var output = new RawOutputSize();
            CountAttempt();
            await using var process = SupervisedProcess.Start(new ProcessLaunch(Options.FfmpegPath, Arguments(sdpPath, feed.HasAudio))
            {
                OnStderrLine = output.Observe,
            });
            LogStarted(InputId, feed.VideoCodec, process.Id, VideoPort, AudioPort);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var samples = feed.HasAudio ? ReadSamplesAsync(attempt.Token) : Task.CompletedTask;
            var pictures = ReadWhenSizedAsync(process, output, attempt.Token);
            var keyframes = AskForKeyframesAsync(feed, attempt.Token);
            var ended = await Task.WhenAny(changed, pictures, process.Exited).ConfigureAwait(false);
            await attempt.CancelAsync().ConfigureAwait(false);
            MarkMissing();
            await process.StopAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            await Task.WhenAll(pictures, samples, keyframes).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (ended == changed) return "";
            var tail = process.StderrTail;
            return process.HasExited ? $"ffmpeg exited {process.ExitCode}: {(tail.Count > 0 ? tail[^1] : "")}" : "ffmpeg stopped delivering pictures";
        }
        finally
        {
            _video.RelayTo(0);
            _audio.RelayTo(0);
            File.Delete(sdpPath);
        }
    }

    /// <summary>Once ffmpeg says its raw picture size, reads pictures until its output ends; marks the input missing while they stall.</summary>
    private async Task ReadWhenSizedAsync(SupervisedProcess process, RawOutputSize output, CancellationToken cancellationToken)
    {
        PixelSize size;
        try { size = await output.Known.WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        var latest = UseSize(size);
        var reading = ReadPicturesAsync(process.Stdout, latest, cancellationToken);
        long seen = latest.Published, seenAt = Time.GetTimestamp();
        while (!reading.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(reading, Task.Delay(StallTimeout / 4, Time, cancellationToken)).ConfigureAwait(false);
            long published = latest.Published;
            if (published != seen)
            {
                seen = published;
                seenAt = Time.GetTimestamp();
            }
            else if (IsPresent && Time.GetElapsedTime(seenAt) >= StallTimeout)
            {
                // The sender went quiet (its network dropped, or it stopped its camera): the placeholder until it sends again.
                MarkMissing();
                LogStalled(InputId, StallTimeout.TotalSeconds);
            }
        }
        await reading.ConfigureAwait(false);
    }

    /// <summary>A decoder that joins mid-stream waits for a keyframe: ask at once, then each second until the first picture.</summary>
    private async Task AskForKeyframesAsync(RtpFeed feed, CancellationToken cancellationToken)
    {
        try
        {
            for (int i = 0; i < KeyframeRequests && !IsPresent; i++)
            {
                feed.RequestKeyframe();
                await Task.Delay(KeyframeRetry, Time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The session description ffmpeg reads: where the feed's RTP arrives and how it is encoded (RFC 4566; RFC 7741 VP8, RFC 6184 H.264,
    /// RFC 7587 Opus).</summary>
    internal static string Sdp(RtpFeed feed, int videoPort, int audioPort)
    {
        var text = new StringBuilder();
        text.Append("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=program input\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");
        text.Append(CultureInfo.InvariantCulture, $"m=video {videoPort} RTP/AVP {VideoPayloadType}\r\n");
        text.Append(CultureInfo.InvariantCulture, $"a=rtpmap:{VideoPayloadType} {feed.VideoCodec}/90000\r\n");
        if (feed.VideoCodec == "H264") text.Append(CultureInfo.InvariantCulture, $"a=fmtp:{VideoPayloadType} packetization-mode=1\r\n");
        if (feed.HasAudio)
        {
            text.Append(CultureInfo.InvariantCulture, $"m=audio {audioPort} RTP/AVP {AudioPayloadType}\r\n");
            text.Append(CultureInfo.InvariantCulture, $"a=rtpmap:{AudioPayloadType} opus/48000/2\r\n");
        }
        return text.ToString();
    }

    private List<string> Arguments(string sdpPath, bool hasAudio)
    {
        var canvas = Options.Canvas;
        var args = new List<string>
        {
            // "info" for the output description the picture size is read from; no progress lines.
            "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            "-protocol_whitelist", "file,udp,rtp", "-fflags", "nobuffer", "-flags", "low_delay", "-analyzeduration", "3000000",
            "-i", sdpPath,
            "-map", "0:v:0", "-vf", string.Create(CultureInfo.InvariantCulture,
                $"{FrameSelectFilter(Options.Clock)},scale={canvas.Width}:{canvas.Height}:force_original_aspect_ratio=decrease:force_divisible_by=2:flags=bilinear"),
            // The selected pictures as they come: rawvideo's default (constant rate at the input's) would repeat them.
            "-fps_mode", "passthrough", "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1",
        };
        if (hasAudio) args.AddRange(AudioOutputArguments());
        return args;
    }

    /// <summary>An even UDP port on loopback whose successor (its RTCP port) is free too, not <paramref name="besides"/>'s pair.</summary>
    private static int FreeUdpPortPair(int besides = 0)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            int port = ((IPEndPoint)probe.LocalEndPoint!).Port & ~1;
            if (port < 1024 || port >= 65534 || port == besides) continue;
            try
            {
                using var rtp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                using var rtcp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                probe.Close();
                rtp.Bind(new IPEndPoint(IPAddress.Loopback, port));
                rtcp.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no free pair of loopback UDP ports for RTP");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        _video.Dispose();
        _audio.Dispose();
    }

    /// <summary>
    /// Reads ffmpeg's description of its first output (<c>Output #0 … Stream #0:0: Video: rawvideo …, WxH</c>): the size
    /// of the raw pictures it writes. Its inputs' descriptions (<c>Input #0</c>) come first and are not it.
    /// </summary>
    internal sealed partial class RawOutputSize
    {
        private readonly TaskCompletionSource<PixelSize> _known = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _inOutput;

        public Task<PixelSize> Known => _known.Task;

        public void Observe(string line)
        {
            if (line.StartsWith("Output #0", StringComparison.Ordinal)) _inOutput = true;
            else if (line.StartsWith("Output #", StringComparison.Ordinal) || line.StartsWith("Input #", StringComparison.Ordinal)) _inOutput = false;
            else if (_inOutput && VideoStream().Match(line) is { Success: true } match
                && int.TryParse(match.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int width)
                && int.TryParse(match.Groups[2].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out int height)
                && width is > 0 and <= 8192 && height is > 0 and <= 8192)
            {
                _known.TrySetResult(new PixelSize(width, height));
            }
        }

        [GeneratedRegex(@"Stream #0:\d+.*: Video: rawvideo\b.*?, (\d{1,5})x(\d{1,5})\b")]
        private static partial Regex VideoStream();
    }

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information,
        Message = "Input {InputId}: decoding RTP {Codec} (ffmpeg {Pid}) on video port {VideoPort}, audio port {AudioPort}")]
    private partial void LogStarted(string inputId, string codec, int pid, int videoPort, int audioPort);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "Input {InputId}: RTP decoding ended ({Reason})")]
    private partial void LogEnded(string inputId, string reason);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information,
        Message = "Input {InputId}: no picture for {Seconds} s; the placeholder shows until it sends again")]
    private partial void LogStalled(string inputId, double seconds);
}
