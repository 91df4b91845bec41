using System.Globalization;
using Broadcast.TestSupport;

// bench/encoder-ladder.sh runs this; `--help` lists the switches. It publishes the test-only sender's default ladder (1920x1080
// 4500k, 1280x720 2500k, 640x360 800k H.264, aligned keyframes, AAC with track 0) as one Enhanced RTMP v2 multitrack publish,
// paced in real time, to a loopback server; the sender refuses any other address. --encode-only encodes the ladder into a
// directory and prints the rendition files (rendition0.flv, with the audio, is also what the script publishes as a single
// track), so a benchmark encodes once and every publish after that reads the same files with --from.
string? url = null, encodeOnly = null, from = null;
double seconds = 60;
double? sendSeconds = null;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--url": url = Next(); break;
        case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--encode-only": encodeOnly = Next(); break;
        case "--from": from = Next(); break;
        case "--send-seconds": sendSeconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
        case "--help":
            Console.WriteLine("""
                Broadcast.MultitrackSend --encode-only DIR [--seconds S]
                    encode S seconds (default 60) of the default ladder into DIR, print "index<TAB>WxH<TAB>kbps<TAB>path" per rendition
                Broadcast.MultitrackSend --url rtmp://127.0.0.1:PORT/APP/KEY [--from DIR] [--seconds S] [--send-seconds T]
                    publish the ladder encoded earlier into DIR (or encode S seconds now), only its first T seconds if given;
                    prints "messages<TAB>frames per track<TAB>media seconds" and exits 0 once everything was sent
                """);
            return 0;
        default:
            Console.Error.WriteLine($"unknown switch {args[i]} (--help)");
            return 2;
    }
}
if (seconds is <= 0 or > 300) return Fail("--seconds is above 0 and at most 300 (the encoder's limit)");
if (sendSeconds is <= 0) return Fail("--send-seconds is above 0");
if ((encodeOnly is null) == (url is null)) return Fail("give either --encode-only DIR or --url URL");

var options = new MultitrackRenditions { Duration = TimeSpan.FromSeconds(seconds) };
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };

try
{
    if (encodeOnly is not null)
    {
        var encoded = await MultitrackRenditionEncoder.EncodeAsync(options, encodeOnly, cancel.Token);
        for (int i = 0; i < options.Renditions.Count; i++)
        {
            var r = options.Renditions[i];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{i}\t{r.Width}x{r.Height}\t{r.BitrateKbps}\t{Path.GetFullPath(MultitrackRenditionEncoder.RenditionPath(encodeOnly, i, r.Codec))}"));
        }
        Console.Error.WriteLine($"encoded {encoded.Tracks[0].Frames.Count} frames per track into {encodeOnly}");
        return 0;
    }

    var encoding = from is not null
        ? MultitrackRenditionEncoder.Read(options, from)
        : await MultitrackRenditionEncoder.EncodeAsync(options, cancel.Token);
    if (sendSeconds is { } limit)
    {
        // A shorter publish of the same files (the benchmark's warm-up): every track and the audio cut at the same time.
        uint end = (uint)(limit * 1000);
        encoding = encoding with
        {
            Tracks = encoding.Tracks.Select(t => t with { Frames = t.Frames.Where(f => f.TimestampMs < end).ToArray() }).ToArray(),
            Audio = encoding.Audio.Where(a => a.TimestampMs < end).ToArray(),
        };
    }

    await using var sender = await TestOnlyMultitrackRtmpSender.StartAsync(url!, options, encoding, cancel.Token);
    using (cancel.Token.Register(sender.Stop))
        await sender.Completion;
    var frames = sender.Encoding.Tracks[0].Frames;
    double media = frames.Count / (double)MultitrackRenditions.FramesPerSecond;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{sender.MessagesSent}\t{frames.Count}\t{media:0.###}"));
    return cancel.IsCancellationRequested ? 1 : 0;
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or Broadcast.Ingest.Rtmp.Client.RtmpPublishException)
{
    // A refused publish, a closed connection or an ffmpeg failure: one line for the script's log, not a stack trace.
    Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
    return 1;
}

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
