using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Tests.Inputs;
using Broadcast.Compositor.Video;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// Component tests with the real ffmpeg: two live channels in hubs, a program composing them into its own hub, and
/// what that hub carries decoded again by ffmpeg. Small sizes so several ffmpegs fit on two cores.
/// </summary>
[Trait("Kind", "Component")]
[Collection(ProgramEngineCollection.Name)]
public sealed class ProgramEngineTests(ITestOutputHelper output)
{
    private const int CanvasWidth = 640, CanvasHeight = 360;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly long HalfSecond = Timescales.Video / 2;

    /// <summary>
    /// The program time of the frame being composed now: the hub's newest frame plus the encoder's delay. A change made now
    /// shows from about there. The hub's newest frame alone can trail it by more than half a second on two busy cores: a
    /// clean clone's run found the picture-in-picture cut not yet on air half a second of program time after it.
    /// </summary>
    private static long Composing(ProgramEngine engine, LiveStream program) =>
        program.LastVideoTime!.Value + (Timescales.Video * (engine.Status().EncoderLagMilliseconds ?? 0) / 1000);

    private static readonly ProgramLayout SideBySide = new(LayoutKind.SideBySide, [new LayoutInput("red"), new LayoutInput("blue")]);

    // Blue fills the canvas, red is a 192x108 inset 32 px from the bottom-right corner: its centre is at (512, 274).
    private static readonly ProgramLayout BlueWithRedInset = new(LayoutKind.PictureInPicture, [new LayoutInput("blue"), new LayoutInput("red")]);

    [Fact]
    public async Task ComposesLayoutsMutesAndDrawsAPlaceholderWhileAnInputIsAway()
    {
        using var dir = new TempDirectory();
        var registry = new LiveStreamRegistry();
        var red = ChannelFeed.Start(registry, "red-cam", "red", 440);
        await using var blue = ChannelFeed.Start(registry, "blue-cam", "blue", 1000);
        await using var engine = NewEngine(registry, [new ChannelInput("red", "red-cam"), new ChannelInput("blue", "blue-cam")], SideBySide);
        engine.Start("program");
        var program = engine.Output!;
        await WaitFor.ConditionAsync(() => engine.Status().InputsPresent.Values.All(p => p) && program.LastVideoTime is not null, Bound, "both inputs decoded and the program encoding");

        // The control room's previews: a sheet of both inputs, in the program's input order, renewed while it runs.
        // Nothing is drawn before someone asks; asking (as the control room does each second) starts the sheets.
        var since = DateTimeOffset.UtcNow;
        await WaitFor.ConditionAsync(() => engine.RequestPreview() is { } p && p.At > since, Bound, "an input preview drawn with both inputs present");
        var sheet = engine.RequestPreview()!;
        Assert.Equal(["red", "blue"], sheet.Inputs);
        using (var previewDir = new TempDirectory())
        {
            string jpeg = previewDir.Combine("preview.jpg");
            await File.WriteAllBytesAsync(jpeg, sheet.Jpeg);
            using var decoded = await ImageInput.DecodeAsync("ffmpeg", jpeg, new PixelSize(ProgramPreviews.TileWidth, 2 * ProgramPreviews.TileHeight), Bound, CancellationToken.None);
            int chromaWidth = ProgramPreviews.TileWidth / 2;
            Assert.InRange(decoded.Picture.V[(45 * chromaWidth) + 80], 200, 255); // red's tile (top): V high
            Assert.InRange(decoded.Picture.U[(135 * chromaWidth) + 80], 200, 255); // blue's tile (below): U high
        }
        await WaitFor.ConditionAsync(() => engine.RequestPreview() is { } next && next.At > sheet.At, Bound, "the next preview");

        // The meters: both inputs' tones and the program bus read as levels, not silence.
        await WaitFor.ConditionAsync(() => engine.Levels() is { Program: < 0 } l && l.Inputs.Count == 2 && l.Inputs.Values.All(v => v is > -40 and < 0),
            Bound, "levels for both inputs and the program", () => string.Join(", ", engine.Levels().Inputs.Select(p => $"{p.Key} {p.Value}")) + $"; program {engine.Levels().Program}");

        // Side by side: red on the left, blue on the right, and both tones in the mix once both inputs' sound flows. On two
        // busy cores a source ffmpeg can stall a moment after its start and its input is silent meanwhile, so the tones
        // are looked for in up to four successive seconds of the program (each capture waits for the program's media).
        string Diag(float[] samples, double hz) => string.Join(' ', Enumerable.Range(0, samples.Length / 4800).Select(i => ToneLevel.Amplitude(samples.AsSpan(i * 4800, 4800), hz).ToString("0.00")))
            + " | " + string.Join("; ", engine.Inputs.Select(d => $"{d.InputId} present {d.IsPresent} attempts {d.Attempts} ring {d.Audio.Count} dropped {d.Audio.Dropped}"));
        var heard = new List<string>();
        bool bothTones = false;
        for (int attempt = 1; attempt <= 4 && !bothTones; attempt++)
        {
            string capture = dir.Combine($"side-by-side-{attempt}.flv");
            await ProgramCapture.CaptureAsync(program, program.LastVideoTime!.Value + (2 * Timescales.Video), capture);
            var sideBySide = await ProgramCapture.LastPictureAsync(capture);
            AssertRed(ProgramCapture.At(sideBySide, 160, 180, CanvasWidth, CanvasHeight), "left half");
            AssertBlue(ProgramCapture.At(sideBySide, 480, 180, CanvasWidth, CanvasHeight), "right half");
            var both = await ProgramCapture.LastSamplesAsync(capture, 48_000);
            double low = ToneLevel.Amplitude(both, 440), high = ToneLevel.Amplitude(both, 1000);
            output.WriteLine($"side by side, second {attempt}: 440 Hz {low:0.000}, 1 kHz {high:0.000}");
            bothTones = low > 0.04 && high > 0.04;
            if (!bothTones) heard.Add($"second {attempt}: 440 Hz {low:0.000} [{Diag(both, 440)}], 1 kHz {high:0.000} [{Diag(both, 1000)}]");
        }
        Assert.True(bothTones, "both tones in the mix within four seconds: " + string.Join(Environment.NewLine, heard));

        // Picture-in-picture, cut: the program frame half a second of media time after the change shows it.
        long applied = Composing(engine, program);
        engine.Apply(BlueWithRedInset, null, LayoutTransition.Cut);
        string pip = dir.Combine("pip.flv");
        await ProgramCapture.CaptureAsync(program, applied + HalfSecond, pip);
        var picture = await ProgramCapture.LastPictureAsync(pip);
        AssertBlue(ProgramCapture.At(picture, 160, 100, CanvasWidth, CanvasHeight), "main picture");
        AssertRed(ProgramCapture.At(picture, 512, 274, CanvasWidth, CanvasHeight), "inset");

        // Back to side by side with a fade: the spot that was blue main picture turns red through frames of both.
        applied = Composing(engine, program);
        engine.Apply(SideBySide, null, LayoutTransition.Fade);
        string fade = dir.Combine("fade.flv");
        await ProgramCapture.CaptureAsync(program, applied + Timescales.Video, fade);
        var pictures = await ProgramCapture.PicturesAsync(fade);
        var spot = pictures.Select(p => ProgramCapture.At(p, 160, 100, CanvasWidth, CanvasHeight)).ToList();
        AssertRed(spot[^1], "left half after the fade");
        int firstBlend = spot.FindIndex(c => c.R is > 60 and < 200 && c.B is > 60 and < 200);
        Assert.True(firstBlend >= 0, $"a frame between blue and red: {string.Join(' ', spot)}");
        Assert.True(spot.Skip(firstBlend).Count(c => c.R is > 60 and < 200 && c.B is > 60 and < 200) >= 3, $"the fade lasts several frames: {string.Join(' ', spot)}");
        engine.Apply(BlueWithRedInset, null, LayoutTransition.Cut);

        // Muting red takes its tone out of the program audio (in every second looked at); blue's stays. Blue's sound can
        // stall a moment on two busy cores as at the start (a CI run heard it silent for 0.6 s of the second, its ring
        // having dropped samples), so its tone is looked for in up to four successive seconds, as above.
        engine.Apply(BlueWithRedInset, new Dictionary<string, MixSettings> { ["red"] = new(Muted: true) }, LayoutTransition.Cut);
        applied = Composing(engine, program);
        var blueHeard = new List<string>();
        bool blueTone = false;
        for (int attempt = 1; attempt <= 4 && !blueTone; attempt++)
        {
            string muted = dir.Combine($"muted-{attempt}.flv");
            await ProgramCapture.CaptureAsync(program, (attempt == 1 ? applied : program.LastVideoTime!.Value) + (2 * Timescales.Video), muted);
            var mix = await ProgramCapture.LastSamplesAsync(muted, 48_000);
            output.WriteLine($"red muted, second {attempt}: 440 Hz {ToneLevel.Amplitude(mix, 440):0.0000}, 1 kHz {ToneLevel.Amplitude(mix, 1000):0.000}");
            Assert.True(ToneLevel.Amplitude(mix, 440) < 0.005, $"no 440 Hz once red is muted: {ToneLevel.Amplitude(mix, 440)}: {Diag(mix, 440)}");
            blueTone = ToneLevel.Amplitude(mix, 1000) > 0.04;
            if (!blueTone) blueHeard.Add($"second {attempt}: {ToneLevel.Amplitude(mix, 1000)}: {Diag(mix, 1000)}");
        }
        Assert.True(blueTone, "1 kHz still in the mix within four seconds: " + string.Join(Environment.NewLine, blueHeard));

        // Red stops publishing: its inset becomes the dark placeholder and the program carries on.
        await red.DisposeAsync();
        await WaitFor.ConditionAsync(() => !engine.Status().InputsPresent["red"], Bound, "red reported missing");
        applied = Composing(engine, program);
        string away = dir.Combine("away.flv");
        await ProgramCapture.CaptureAsync(program, applied + Timescales.Video, away);
        picture = await ProgramCapture.LastPictureAsync(away);
        AssertBlue(ProgramCapture.At(picture, 160, 100, CanvasWidth, CanvasHeight), "main picture while red is away");
        AssertPlaceholder(ProgramCapture.At(picture, 512, 274, CanvasWidth, CanvasHeight));

        // Red publishes again: it is back in its inset.
        await using var redAgain = ChannelFeed.Start(registry, "red-cam", "red", 440);
        await WaitFor.ConditionAsync(() => engine.Status().InputsPresent["red"], Bound, "red back");
        applied = Composing(engine, program);
        string back = dir.Combine("back.flv");
        await ProgramCapture.CaptureAsync(program, applied + Timescales.Video, back);
        picture = await ProgramCapture.LastPictureAsync(back);
        AssertRed(ProgramCapture.At(picture, 512, 274, CanvasWidth, CanvasHeight), "inset once red is back");
        var status = engine.Status();
        Assert.Equal(0, status.EncoderRestarts);
        Assert.NotNull(status.IntegratedLoudness);
        output.WriteLine($"composed {status.FramesComposed}, late {status.FramesLate}, {status.ComposeMicroseconds:0} µs a frame, {status.IntegratedLoudness:0.0} LUFS, encoder dropped {status.EncoderFramesDropped}, encoder lag {status.EncoderLagMilliseconds} ms");
    }

    [Fact]
    public async Task InputsChangeOnAirInTheSameBroadcastAndACutLandsOnTheNewInputsPicture()
    {
        using var dir = new TempDirectory();
        var registry = new LiveStreamRegistry();
        await using var blue = ChannelFeed.Start(registry, "blue-cam", "blue", 1000);
        await using var red = ChannelFeed.Start(registry, "red-cam", "red", 440);
        var noImages = new Dictionary<string, Yuva420Image>();
        await using var engine = NewEngine(registry, [new ChannelInput("blue", "blue-cam")], new ProgramLayout(LayoutKind.Single, [new LayoutInput("blue")]));
        engine.Start("program");
        var program = engine.Output!;
        using var reader = program.OpenReader("test-times", capacity: 8192);
        var times = new List<long>();
        void Drain() => DrainVideoTimes(reader, times);
        await WaitFor.ConditionAsync(() => { Drain(); return engine.Status().InputsPresent["blue"] && program.LastVideoTime is not null; }, Bound, "blue decoded and the program encoding");
        await WaitFor.ConditionAsync(() => registry.Find("red-cam")?.LastVideoTime is not null, Bound, "red on air");

        // Red joins as the inset on a cut. Red is on air, so the change waits for its first decoded picture: no program
        // frame shows red's placeholder, the spot goes from blue (the main picture) straight to red.
        await engine.ChangeInputsAsync([new ChannelInput("blue", "blue-cam"), new ChannelInput("red", "red-cam")], [], noImages, BlueWithRedInset, null,
            LayoutTransition.Cut, CancellationToken.None);
        string joined = dir.Combine("joined.flv");
        await ProgramCapture.CaptureAsync(program, Composing(engine, program) + Timescales.Video, joined);
        // The capture starts at the program's cached keyframe, which may be its very first frames: those, before blue's
        // first picture, are blue's placeholder. From blue's first picture on, the spot is blue then red, never dark.
        var inset = (await ProgramCapture.PicturesAsync(joined)).Select(p => ProgramCapture.At(p, 512, 274, CanvasWidth, CanvasHeight)).ToList();
        var fromBlue = inset.SkipWhile(c => !(c.B > 200 && c.R < 60)).ToList();
        Assert.True(fromBlue.Count > 0 && fromBlue.TrueForAll(c => Math.Max(c.R, c.B) > 120),
            $"from blue's first picture on, the inset spot is never the dark placeholder: {string.Join(' ', inset)}");
        AssertRed(inset[^1], "the inset once red joined");
        Assert.Equal(2, engine.Inputs.Count);

        // A change the layout cannot draw with the new inputs is refused and changes nothing.
        await Assert.ThrowsAsync<LayoutException>(() => engine.ChangeInputsAsync([new ChannelInput("green", "green-cam")], [], noImages, SideBySide, null,
            LayoutTransition.Cut, CancellationToken.None));
        Assert.Equal(["blue", "red"], engine.Inputs.Select(d => d.InputId));

        // Blue leaves and red fills the canvas, on a fade: blue's decoder stops once the fade no longer draws it.
        await engine.ChangeInputsAsync([new ChannelInput("red", "red-cam")], [], noImages, new ProgramLayout(LayoutKind.Single, [new LayoutInput("red")]),
            null, LayoutTransition.Fade, CancellationToken.None);
        Assert.Equal(["red"], engine.Status().InputsPresent.Keys);
        string alone = dir.Combine("alone.flv");
        await ProgramCapture.CaptureAsync(program, Composing(engine, program) + Timescales.Video, alone);
        AssertRed(ProgramCapture.At(await ProgramCapture.LastPictureAsync(alone), 160, 100, CanvasWidth, CanvasHeight), "red filling the canvas");

        // One broadcast throughout: the same hub, the encoder never restarted, its timestamps rising without a gap.
        Drain();
        Assert.Same(program, registry.Find("program"));
        Assert.Equal(0, engine.Status().EncoderRestarts);
        Assert.True(times.Count > 30, $"{times.Count} frames read");
        for (int i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] > times[i - 1], $"video decode time {times[i]} after {times[i - 1]}");
            Assert.True(times[i] - times[i - 1] < Timescales.Video / 2, $"a gap of {times[i] - times[i - 1]} ticks at frame {i}");
        }
    }

    [Fact]
    public async Task AnEncoderCrashRestartsAndTheProgramsTimestampsKeepRising()
    {
        var registry = new LiveStreamRegistry();
        await using var feed = ChannelFeed.Start(registry, "cam", "red", 440);
        await using var engine = NewEngine(registry, [new ChannelInput("cam", "cam")], new ProgramLayout(LayoutKind.Single, [new LayoutInput("cam")]));
        engine.Start("program");
        var program = engine.Output!;
        await WaitFor.ConditionAsync(() => program.LastVideoTime is not null, Bound, "the program encoding");
        using var reader = program.OpenReader("test-times", capacity: 4096);
        var times = new List<long>();
        void Drain() => DrainVideoTimes(reader, times);

        System.Diagnostics.Process.GetProcessById(engine.Encoder!.ProcessId!.Value).Kill();
        await WaitFor.ConditionAsync(() => { Drain(); return engine.Status().EncoderRestarts == 1; }, Bound, "the encoder restarted");
        int beforeRestart = times.Count;
        await WaitFor.ConditionAsync(() => { Drain(); return times.Count >= beforeRestart + 30; }, Bound, "a second of the restarted encoder's frames in the hub");

        for (int i = 1; i < times.Count; i++)
        {
            Assert.True(times[i] > times[i - 1], $"video decode time {times[i]} after {times[i - 1]}");
            // The restart leaves a gap of about its own length (the program clock ran on), never a jump beyond it.
            Assert.True(times[i] - times[i - 1] < 5 * Timescales.Video, $"a gap of {times[i] - times[i - 1]} ticks");
        }
        Assert.Same(program, registry.Find("program"));
    }

    [Fact]
    public async Task AProgramOfImagesAloneIsPlannedAndEncoded()
    {
        using var dir = new TempDirectory();
        string png = dir.Combine("slate.png");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=64x36", "-frames:v", "1", png);
        using var slate = await ImageInput.DecodeAsync("ffmpeg", png, new PixelSize(64, 36), TimeSpan.FromSeconds(20), CancellationToken.None);
        var registry = new LiveStreamRegistry();
        await using var engine = new ProgramEngine("program", registry,
            new ProgramSettings("ffmpeg", new PixelSize(CanvasWidth, CanvasHeight), new ProgramClock(30)) { VideoKilobits = 800 },
            [], new Dictionary<string, Yuva420Image> { ["slate"] = slate }, new ProgramLayout(LayoutKind.Single, [new LayoutInput("slate", FitMode.Fill)]),
            NullLogger.Instance);
        engine.Start("program");
        var program = engine.Output!;
        await WaitFor.ConditionAsync(() => program.LastVideoTime is not null, Bound, "the program encoding");

        // No channel input means an empty presence key: the plan must still be made (it once was not, and the loop died).
        string file = dir.Combine("slate.flv");
        await ProgramCapture.CaptureAsync(program, program.LastVideoTime!.Value + HalfSecond, file);
        AssertBlue(ProgramCapture.At(await ProgramCapture.LastPictureAsync(file), 320, 180, CanvasWidth, CanvasHeight), "the slate filling the canvas");
        Assert.True(engine.Status().FramesComposed > 0);
    }

    [Fact]
    public async Task TheProgramsSoundStaysWithItsPicture()
    {
        // A channel that flashes and beeps at every whole second, composed alone. Where each flash and beep land in the
        // program, against where they land in the channel itself. A decoder that starts on the channel's cached GOP once
        // left that burst standing in the input's audio ring, and the sound ran late by 60 to 250 ms (143 and 152 ms in two
        // runs of this test) for the whole program. Now it reads -12 to +40 ms here (the ring's phase and the program's
        // tick move it by a frame), within EBU R37's 40 ms early and 60 ms late; the bound leaves a frame's room around that
        // spread so that a loaded machine does not fail it, and still catches the standing burst. A loaded machine that
        // stalls the input's decoder left the same kind of delay behind each stall (122 ms in one full-suite run; 101 to
        // 177 ms with the decoder paused 200 ms a second); with the ring's lateness clock, -6 to +20 ms under those pauses.
        using var dir = new TempDirectory();
        var registry = new LiveStreamRegistry();
        await using var feed = ChannelFeed.StartFlashAndBeep(registry, "cam");
        await using var engine = NewEngine(registry, [new ChannelInput("cam", "cam")], new ProgramLayout(LayoutKind.Single, [new LayoutInput("cam")]));
        engine.Start("program");
        var program = engine.Output!;
        await WaitFor.ConditionAsync(() => engine.Status().InputsPresent["cam"] && program.LastVideoTime is not null, Bound, "the input decoded and the program encoding");
        // Past the ring's first watch (about 2 s of reads), and then far enough that the capture's cached GOP starts after it.
        long settled = program.LastVideoTime!.Value + (5 * Timescales.Video);
        await WaitFor.ConditionAsync(() => program.LastVideoTime >= settled, Bound, "five seconds of program");

        string programFile = dir.Combine("program.flv"), inputFile = dir.Combine("input.flv");
        var programCapture = ProgramCapture.CaptureAsync(program, program.LastVideoTime!.Value + (6 * Timescales.Video), programFile);
        var inputCapture = ProgramCapture.CaptureAsync(feed.Stream, feed.Stream.LastVideoTime!.Value + (6 * Timescales.Video), inputFile);
        await Task.WhenAll(programCapture, inputCapture);

        var (inputOffset, inputPairs) = await ProgramCapture.SoundMinusPictureAsync(inputFile);
        var (programOffset, programPairs) = await ProgramCapture.SoundMinusPictureAsync(programFile);
        output.WriteLine($"sound minus picture: channel {inputOffset} ms over {inputPairs}, program {programOffset} ms over {programPairs}");
        Assert.True(inputPairs >= 4 && programPairs >= 4, $"flashes and beeps found: channel {inputPairs}, program {programPairs}");
        Assert.InRange(programOffset - inputOffset, -50, 75);
    }

    /// <summary>Takes what the reader has and keeps its video decode times (90 kHz).</summary>
    private static void DrainVideoTimes(LiveStreamReader reader, List<long> times)
    {
        while (reader.TryRead(out var frame))
        {
            if (frame!.Kind == MediaKind.Video) times.Add(Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Video));
            frame.Release();
        }
    }

    private static ProgramEngine NewEngine(LiveStreamRegistry registry, IReadOnlyList<ChannelInput> inputs, ProgramLayout layout) =>
        new("program", registry, new ProgramSettings("ffmpeg", new PixelSize(CanvasWidth, CanvasHeight), new ProgramClock(30)) { VideoKilobits = 800 },
            inputs, new Dictionary<string, Yuva420Image>(), layout, NullLogger.Instance);

    private static void AssertRed((int R, int G, int B) c, string where) =>
        Assert.True(c.R > 200 && c.G < 60 && c.B < 60, $"{where} is red: {c}");

    private static void AssertBlue((int R, int G, int B) c, string where) =>
        Assert.True(c.B > 200 && c.R < 60 && c.G < 60, $"{where} is blue: {c}");

    // The placeholder's luma 32 is RGB about 19 in limited range: dark and grey.
    private static void AssertPlaceholder((int R, int G, int B) c) =>
        Assert.True(c.R is > 8 and < 40 && Math.Abs(c.R - c.G) < 8 && Math.Abs(c.B - c.G) < 8, $"the inset is the dark placeholder: {c}");
}
