using System.Diagnostics;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// A program's paced loop, run by its <see cref="ProgramEngine"/>: frame n is due at start + n/fps on
/// <see cref="ProgramClock"/> against a <see cref="TimeProvider"/>. Each frame takes the newest scene the engine swapped in
/// (a cut, or the start of a fade from the picture before), mixes the audio blocks due by the frame's end, composes the
/// picture under the scene's layout and writes both into the encoder; a late loop repeats the last canvas for the frames
/// it missed rather than compose them, so the output never drifts from the clock. It lets the engine know when the
/// inputs a scene replaced are drawn no more, and keeps what the engine reports: frames composed and late, the time
/// composing takes, the integrated loudness and the level meters.
/// </summary>
internal sealed partial class ProgramLoop
{
    private readonly string _channel;
    private readonly ProgramSettings _settings;
    private readonly Func<ProgramScene> _scene;
    private readonly ProgramPreviews _previews;
    private readonly Func<bool> _previewsWanted;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _framesComposed, _framesLate, _composeTicks, _frame;
    private double _integratedLoudness = double.NaN; // NaN until measurable

    /// <param name="scene">The scene on air now (the engine swaps it whole).</param>
    /// <param name="previewsWanted">Whether someone watches the previews now: sheets are drawn only then.</param>
    public ProgramLoop(string channel, ProgramSettings settings, Func<ProgramScene> scene, ProgramPreviews previews, Func<bool> previewsWanted,
        ILogger logger, TimeProvider time)
    {
        _channel = channel;
        _settings = settings;
        _scene = scene;
        _previews = previews;
        _previewsWanted = previewsWanted;
        _logger = logger;
        _time = time;
    }

    public long FramesComposed => Interlocked.Read(ref _framesComposed);

    public long FramesLate => Interlocked.Read(ref _framesLate);

    /// <summary>The <see cref="Stopwatch"/> ticks spent composing, all frames together.</summary>
    public long ComposeTicks => Interlocked.Read(ref _composeTicks);

    /// <summary>The frame the loop is at, on the program's timeline.</summary>
    public long Frame => Volatile.Read(ref _frame);

    /// <summary>The program's integrated loudness (LUFS), read once a second; null until measurable.</summary>
    public double? IntegratedLoudness => Volatile.Read(ref _integratedLoudness) is var lufs && double.IsNaN(lufs) ? null : lufs;

    /// <summary>
    /// The level meters now: each input's own level (before its fader and mute) and the program bus's (after the limiter),
    /// as peaks of the last 300 ms in dBFS, null for silence. Cheap enough to poll several times a second.
    /// </summary>
    public ProgramLevels Levels()
    {
        var meters = Volatile.Read(ref _meters);
        var inputs = new Dictionary<string, double?>(StringComparer.Ordinal);
        foreach (var (id, meter) in meters.Inputs) inputs[id] = meter.Decibels;
        return new ProgramLevels(inputs, meters.Bus?.Decibels, _time.GetUtcNow());
    }

    private sealed record MeterSet(IReadOnlyList<(string Id, PeakMeter Meter)> Inputs, PeakMeter? Bus);

    private MeterSet _meters = new([], null);

    /// <summary>Every source's picture size now (null while an input has no picture), as the planner takes them.</summary>
    internal static Dictionary<string, PixelSize?> Sizes(ProgramInputs inputs, bool present)
    {
        var sizes = new Dictionary<string, PixelSize?>(StringComparer.Ordinal);
        foreach (var decoder in inputs.Decoders) sizes[decoder.InputId] = present && decoder.IsPresent ? decoder.Video?.Size : null;
        foreach (var (id, image) in inputs.Images) sizes[id] = new PixelSize(image.Width, image.Height);
        return sizes;
    }

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled, writing the program into <paramref name="encoder"/>.</summary>
    public async Task RunAsync(ProgramEncoder encoder, CancellationToken cancellationToken)
    {
        var clock = _settings.Clock;
        var canvas = new Yuv420Frame(_settings.Canvas.Width, _settings.Canvas.Height);
        var fadeFrom = new Yuv420Frame(_settings.Canvas.Width, _settings.Canvas.Height);
        var compositor = new FrameCompositor();
        var sources = new CompositionSources();
        var mixer = new AudioMixer();
        var blocks = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var ready = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var bus = new float[mixer.BlockSamples];
        ProgramScene? scene = null;
        LayoutPlan? plan = null, fadePlan = null;
        // The inputs the fade is leaving, while the picture it fades from still draws them, and who waits for their release.
        ProgramInputs? fadingInputs = null;
        TaskCompletionSource? fadingReleased = null;
        // Null: plan on the next frame (the first, or a new scene). A program of images alone has an empty presence key,
        // so "" cannot stand for "not planned yet".
        string? planKey = null;
        int fadeStep = 0;
        long mixedSamples = 0, start = _time.GetTimestamp();
        long framesPerSecond = Math.Max(1, (clock.RateNumerator + (clock.RateDenominator / 2)) / clock.RateDenominator);
        try
        {
            for (long frame = 0; !cancellationToken.IsCancellationRequested; frame++)
            {
                long dueTicks = clock.VideoTicks(frame);
                Volatile.Write(ref _frame, frame);
                var wait = TimeSpan.FromTicks(dueTicks * TimeSpan.TicksPerSecond / Timescales.Video) - _time.GetElapsedTime(start);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);

                var current = _scene();
                if (!ReferenceEquals(current, scene))
                {
                    bool newInputs = scene is null || !ReferenceEquals(scene.Inputs, current.Inputs);
                    if (newInputs) OnMixer(current.Inputs);
                    foreach (var decoder in current.Inputs.Decoders)
                    {
                        mixer.Set(decoder.InputId, current.Mix.TryGetValue(decoder.InputId, out var settings) ? settings : new MixSettings());
                    }
                    fadePlan = scene is not null && current.Transition == LayoutTransition.Fade ? plan : null;
                    // Whatever an earlier fade was leaving is no longer drawn; a new set's predecessor is, while this fade runs.
                    var previous = scene;
                    ReleaseFading(current.Inputs);
                    if (previous is not null && newInputs && fadePlan is not null)
                    {
                        fadingInputs = previous.Inputs;
                        fadingReleased = current.PreviousInputsReleased;
                    }
                    Draw(current.Inputs, fadingInputs);
                    if (fadingReleased is null) current.PreviousInputsReleased.TrySetResult();
                    fadeStep = 0;
                    scene = current;
                    planKey = null;
                }

                // Audio first: every 1024-sample block whose samples are due by the end of this frame.
                while (mixedSamples + ProgramAudio.BlockFrames <= clock.AudioSample(frame + 1))
                {
                    ready.Clear();
                    foreach (var decoder in scene.Inputs.Decoders)
                    {
                        if (decoder.IsPresent && decoder.Audio.TryRead(blocks[decoder.InputId])) ready[decoder.InputId] = blocks[decoder.InputId];
                    }
                    mixer.Mix(ready, bus);
                    encoder.Write(bus);
                    mixedSamples += ProgramAudio.BlockFrames;
                }

                long late = clock.FrameAt(TimelineJoin.ToVideoTicks(_time.GetElapsedTime(start))) - frame;
                if (late > 1 && frame > 0)
                {
                    // Behind the clock: send the last canvas again for this slot and catch up, composing nothing.
                    Interlocked.Increment(ref _framesLate);
                    encoder.Write(canvas, frame);
                    continue;
                }

                long composeStart = Stopwatch.GetTimestamp();
                string key = PresenceKey(scene.Inputs, sources);
                if (key != planKey)
                {
                    plan = LayoutPlanner.Plan(scene.Layout, _settings.Canvas, Sizes(scene.Inputs, present: true));
                    planKey = key;
                }
                compositor.Compose(canvas, plan!, sources);
                if (fadePlan is not null)
                {
                    if (fadingInputs is not null) RefreshFading(fadingInputs, scene.Inputs, sources);
                    compositor.Compose(fadeFrom, fadePlan, sources);
                    CrossFade.Blend(fadeFrom, canvas, ++fadeStep, _settings.FadeFrames, canvas);
                    if (fadeStep >= _settings.FadeFrames)
                    {
                        fadePlan = null;
                        ReleaseFading(scene.Inputs);
                    }
                }
                Interlocked.Add(ref _composeTicks, Stopwatch.GetTimestamp() - composeStart);
                Interlocked.Increment(ref _framesComposed);
                encoder.Write(canvas, frame);
                if (frame % framesPerSecond == 0) Volatile.Write(ref _integratedLoudness, mixer.Loudness.Integrated() ?? double.NaN);
                // The control room's previews while it asks for them: once a second, half a second off the loudness reading,
                // from the pictures just composed.
                if (frame % framesPerSecond == framesPerSecond / 2 && !_previews.Busy && _previewsWanted())
                    _previews.Draw([.. scene.Inputs.Decoders.Select(d => d.InputId)], sources, _time.GetUtcNow());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A bug, not a fault of an input (those keep the loop going): the program stops composing, and says so.
            LogLoopFailed(ex, _channel);
            throw;
        }
        finally
        {
            canvas.Dispose();
            fadeFrom.Dispose();
        }

        // The mixer follows the set: a new input gets a channel and a block, one left out loses them.
        void OnMixer(ProgramInputs inputs)
        {
            foreach (var decoder in inputs.Decoders)
            {
                if (blocks.ContainsKey(decoder.InputId)) continue;
                mixer.AddInput(decoder.InputId);
                blocks[decoder.InputId] = new float[mixer.BlockSamples];
            }
            foreach (string id in blocks.Keys.Where(id => !inputs.Decoders.Any(d => d.InputId == id)).ToList())
            {
                mixer.RemoveInput(id);
                blocks.Remove(id);
            }
            // The meters the API reads from its own threads: each is read atomically, the set swapped whole.
            Volatile.Write(ref _meters, new MeterSet([.. inputs.Decoders.Select(d => (d.InputId, mixer.Meter(d.InputId)!))], mixer.Bus));
        }

        // The fade's leaving inputs are drawn no more: the sources forget them first, then their owner may free them.
        void ReleaseFading(ProgramInputs current)
        {
            if (fadingReleased is null) return;
            fadingInputs = null;
            Draw(current, null);
            fadingReleased.TrySetResult();
            fadingReleased = null;
        }

        // The sources hold the pictures, images and cards of the drawn sets only (the scene's, and the one a fade leaves).
        void Draw(ProgramInputs current, ProgramInputs? leaving)
        {
            sources.Images.Clear();
            sources.PlaceholderCards.Clear();
            if (leaving is not null)
            {
                foreach (var (id, image) in leaving.Images) sources.Images[id] = image;
                foreach (var (id, card) in leaving.Cards) sources.PlaceholderCards[id] = card;
            }
            foreach (var (id, image) in current.Images) sources.Images[id] = image;
            foreach (var (id, card) in current.Cards) sources.PlaceholderCards[id] = card;
            foreach (string id in sources.Frames.Keys.Where(id => !current.Has(id) && leaving?.Has(id) != true).ToList()) sources.Frames.Remove(id);
        }
    }

    /// <summary>
    /// Refreshes each input's picture in <paramref name="sources"/> and returns what the plan depends on: which inputs
    /// have a picture and at what size. Only a change of it replans (planning allocates; a frame does not).
    /// </summary>
    private string PresenceKey(ProgramInputs inputs, CompositionSources sources)
    {
        var decoders = inputs.Decoders;
        Span<char> key = decoders.Count <= 64 ? stackalloc char[decoders.Count * 3] : new char[decoders.Count * 3];
        for (int i = 0; i < decoders.Count; i++)
        {
            var decoder = decoders[i];
            var picture = decoder.IsPresent ? decoder.Video?.Read() : null;
            if (picture is null) sources.Frames.Remove(decoder.InputId);
            else sources.Frames[decoder.InputId] = picture;
            key[i * 3] = picture is null ? '0' : '1';
            key[(i * 3) + 1] = (char)(picture?.Width ?? 0);
            key[(i * 3) + 2] = (char)(picture?.Height ?? 0);
        }
        return _lastKey.AsSpan().SequenceEqual(key) ? _lastKey : (_lastKey = new string(key));
    }

    /// <summary>The pictures of the inputs a fade is leaving (those whose id the new set does not reuse), for the picture it fades from.</summary>
    private static void RefreshFading(ProgramInputs leaving, ProgramInputs current, CompositionSources sources)
    {
        foreach (var decoder in leaving.Decoders)
        {
            if (current.Has(decoder.InputId)) continue;
            var picture = decoder.IsPresent ? decoder.Video?.Read() : null;
            if (picture is null) sources.Frames.Remove(decoder.InputId);
            else sources.Frames[decoder.InputId] = picture;
        }
    }

    private string _lastKey = "";

    [LoggerMessage(EventId = 6204, Level = LogLevel.Critical, Message = "Program {Channel}: its compositing loop failed and stopped")]
    private partial void LogLoopFailed(Exception ex, string channel);
}
