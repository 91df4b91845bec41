using System.Globalization;
using System.Net;

namespace Broadcast.TestSupport;

/// <summary>ffmpeg publishing MPEG-TS over SRT in caller mode (Debian's ffmpeg is built with libsrt), as OBS and hardware encoders do.</summary>
public sealed class SrtPublisher : RtmpPublisher
{
    private SrtPublisher(ExternalProcess process, string url) : base(process, url)
    {
    }

    /// <summary>
    /// <c>srt://HOST:PORT?streamid=…</c> with the stream id as written: Debian's ffmpeg 5.1 passes it on without
    /// percent-decoding, and '#', ',', ':' and '=' survive its URL parsing.
    /// </summary>
    public static string UrlFor(IPEndPoint server, string streamId, string? passphrase = null, int? latencyMs = null)
    {
        var url = $"srt://{server.Address}:{server.Port.ToString(CultureInfo.InvariantCulture)}?streamid={streamId}";
        if (passphrase is not null) url += "&passphrase=" + passphrase;
        // ffmpeg's latency option is in microseconds.
        if (latencyMs is { } ms) url += "&latency=" + (ms * 1000L).ToString(CultureInfo.InvariantCulture);
        return url;
    }

    /// <summary>The SRT Access Control stream id for publishing a key to app "live".</summary>
    public static string StreamId(string streamKey) => $"#!::r=live/{streamKey},m=publish";

    /// <summary><c>ffmpeg -re -i clip -c copy -f mpegts srt://…</c>: a clip sent at its own pace, as an encoder would.</summary>
    public static SrtPublisher StartClip(string clipPath, string srtUrl, int loops = 0)
    {
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "info", "-re" };
        if (loops != 0) args.AddRange(["-stream_loop", loops.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(["-i", clipPath, "-c", "copy", "-f", "mpegts", srtUrl]);
        return new SrtPublisher(ExternalProcess.Start("ffmpeg", args), srtUrl);
    }

    /// <summary>
    /// A live test pattern with a 440 Hz tone (libx264 + AAC in MPEG-TS), like <see cref="LavfiPublisher"/> over RTMP;
    /// <paramref name="audioCodec"/> "libopus" sends the tone as Opus, as OBS and hardware encoders can over SRT.
    /// </summary>
    public static SrtPublisher StartLavfi(string srtUrl, int width = 320, int height = 180, int fps = 25, string videoCodec = "libx264", double? seconds = null,
        string audioCodec = "aac")
    {
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "info",
            "-re", "-f", "lavfi", "-i", string.Create(CultureInfo.InvariantCulture, $"testsrc2=size={width}x{height}:rate={fps}"),
            "-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        };
        if (seconds is { } t) args.AddRange(["-t", t.ToString(CultureInfo.InvariantCulture)]);
        args.AddRange(["-c:v", videoCodec, "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", (fps * 2).ToString(CultureInfo.InvariantCulture), "-b:v", "300k"]);
        if (videoCodec == "libx264") args.AddRange(["-tune", "zerolatency"]);
        if (videoCodec == "libx265") args.AddRange(["-x265-params", "log-level=error"]);
        args.AddRange(["-c:a", audioCodec, "-b:a", "64k", "-ac", "2", "-f", "mpegts", srtUrl]);
        return new SrtPublisher(ExternalProcess.Start("ffmpeg", args), srtUrl);
    }

    /// <summary>
    /// A picture that flashes white for 0.1 s every 2 s and a 1 kHz beep at the same instants (the classic sync test),
    /// H.264 with <paramref name="audioCodec"/> in MPEG-TS: where the packaged beeps fall against the flashes shows whether
    /// audio kept its timing through the server.
    /// </summary>
    public static SrtPublisher StartFlashAndBeep(string srtUrl, string audioCodec)
    {
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "info",
            "-re", "-f", "lavfi", "-i", "color=c=black:s=320x180:r=30,drawbox=c=white:t=fill:enable='lt(mod(t\\,2)\\,0.1)'",
            "-re", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000,volume=enable='gte(mod(t\\,2)\\,0.1)':volume=0",
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60", "-pix_fmt", "yuv420p", "-b:v", "200k",
            "-c:a", audioCodec, "-b:a", "64k", "-ac", "2", "-f", "mpegts", srtUrl,
        };
        return new SrtPublisher(ExternalProcess.Start("ffmpeg", args), srtUrl);
    }

    /// <summary>
    /// Sends a file's bytes unchanged (ffmpeg's data muxer): for TS that is broken on purpose. The data muxer has no
    /// pace, so the whole file is queued at once; linger keeps the socket open until it has been delivered (live mode
    /// drops unsent data at close otherwise).
    /// </summary>
    public static SrtPublisher StartRawBytes(string path, string srtUrl) =>
        new(ExternalProcess.Start("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "info", "-f", "data", "-i", path, "-map", "0", "-c", "copy", "-f", "data", srtUrl + "&linger=10"]), srtUrl);

    /// <summary>
    /// Sends MPEG-TS bytes as they are (ffmpeg's data muxer, reading its standard input) at the pace of their video: each
    /// video PES is written when its PTS comes, as a live encoder sends. For TS that ffmpeg's muxer cannot make, such as
    /// one carrying SCTE-35 (<see cref="Scte35TsWriter"/>).
    /// </summary>
    public static SrtPublisher StartPacedTs(byte[] ts, string srtUrl, int videoPid = TsVideoPes.FfmpegVideoPid)
    {
        var process = ExternalProcess.Start("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "info", "-probesize", "32", "-analyzeduration", "0",
            "-f", "data", "-i", "pipe:0", "-map", "0", "-c", "copy", "-f", "data", "-flush_packets", "1", srtUrl], keepStandardInputOpen: true);
        _ = Task.Run(() => PaceAsync(ts, process.StandardInput, videoPid));
        return new SrtPublisher(process, srtUrl);
    }

    private static async Task PaceAsync(byte[] ts, Stream input, int videoPid)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long? firstPts = null;
        int sent = 0;
        try
        {
            foreach (var (packet, pts) in TsVideoPes.Starts(ts, videoPid))
            {
                firstPts ??= pts;
                var due = TimeSpan.FromMilliseconds((pts - firstPts.Value) / 90) - clock.Elapsed;
                if (due <= TimeSpan.Zero) continue;
                int at = packet * 188;
                await input.WriteAsync(ts.AsMemory(sent, at - sent)).ConfigureAwait(false);
                await input.FlushAsync().ConfigureAwait(false);
                sent = at;
                await Task.Delay(due).ConfigureAwait(false);
            }
            await input.WriteAsync(ts.AsMemory(sent)).ConfigureAwait(false);
            input.Close();
        }
        catch (IOException)
        {
            // the test stopped ffmpeg before the end
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
