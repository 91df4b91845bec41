using System.Diagnostics;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// One program: its channel inputs decoded, composed frame by frame onto the canvas under the current layout, their
/// audio mixed, limited and metered, all encoded into the program channel's hub. The loop is paced by
/// <see cref="ProgramClock"/> against a <see cref="TimeProvider"/>: frame n is due at start + n/fps; a late loop
/// repeats the last canvas for the frames it missed rather than compose them, so the output never drifts from the
/// clock. <see cref="Apply"/> swaps the layout and the mix atomically; the next frame cuts to it or starts a fade.
/// </summary>
public sealed partial class ProgramEngine : IAsyncDisposable
{
    private readonly string _channel;
    private readonly LiveStreamRegistry _registry;
    private readonly ProgramSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<InputDecoder> _decoders = [];
    private readonly IReadOnlyDictionary<string, Yuva420Image> _images;
    private readonly CancellationTokenSource _stop = new();
    private ProgramScene _scene;
    private ProgramEncoder? _encoder;
    private LiveStream? _output;
    private Task _loop = Task.CompletedTask;
    private long _framesComposed, _framesLate, _composeTicks, _frame;
    private double _integratedLoudness = double.NaN; // NaN until measurable

    public ProgramEngine(string channel, LiveStreamRegistry registry, ProgramSettings settings, IReadOnlyList<ChannelInput> inputs,
        IReadOnlyDictionary<string, Yuva420Image> images, ProgramLayout layout, ILogger logger, TimeProvider? time = null, IReadOnlyList<string>? rtpInputs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(inputs);
        _channel = channel;
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        _images = images ?? throw new ArgumentNullException(nameof(images));
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        var decoderOptions = new InputDecoderOptions(settings.FfmpegPath, settings.Canvas, settings.Clock);
        foreach (var input in inputs) _decoders.Add(new ChannelInputDecoder(input.Id, input.Channel, registry, decoderOptions, logger, _time));
        foreach (var id in rtpInputs ?? []) _decoders.Add(new RtpInputDecoder(id, decoderOptions, logger, _time));
        var mix = new Dictionary<string, MixSettings>(StringComparer.Ordinal);
        _scene = new ProgramScene(layout, mix, LayoutTransition.Cut, 0);
        Check(_scene);
    }

    /// <summary>The program's stream in its hub, once started.</summary>
    public LiveStream? Output => _output;

    /// <summary>Publishes the program channel and starts its decoders, its encoder and its loop.</summary>
    public void Start()
    {
        if (!_registry.TryStartPublish(_channel, out var output)) throw new InvalidOperationException($"channel '{_channel}' is already live");
        _output = output;
        _encoder = new ProgramEncoder(output, new ProgramEncoderOptions(_settings.FfmpegPath, _settings.Canvas, _settings.Clock) { VideoKilobits = _settings.VideoKilobits }, _logger, _time);
        _encoder.Start();
        foreach (var decoder in _decoders) decoder.Start();
        _loop = Task.Factory.StartNew(() => RunAsync(_stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        LogStarted(_channel, _decoders.Count, _settings.Canvas.Width, _settings.Canvas.Height);
    }

    /// <summary>
    /// Swaps in a layout and the per-input mix (inputs not named keep 0 dB, unmuted). Checked first: a layout the
    /// program cannot draw throws <see cref="LayoutException"/> and nothing changes.
    /// </summary>
    public void Apply(ProgramLayout layout, IReadOnlyDictionary<string, MixSettings>? mix, LayoutTransition transition)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var current = Volatile.Read(ref _scene);
        var next = new ProgramScene(layout, mix ?? current.Mix, transition, current.Version + 1);
        Check(next);
        Volatile.Write(ref _scene, next);
        LogApplied(_channel, layout.Kind.ToString(), transition.ToString());
    }

    public ProgramStatus Status()
    {
        var present = _decoders.ToDictionary(d => d.InputId, d => d.IsPresent, StringComparer.Ordinal);
        long composed = Interlocked.Read(ref _framesComposed);
        double micros = composed == 0 ? 0 : Interlocked.Read(ref _composeTicks) * 1e6 / Stopwatch.Frequency / composed;
        // The hub's newest frame against the frame the loop is at: both on the program's timeline.
        long? lag = _output?.LastVideoTime is long last ? (_settings.Clock.VideoTicks(Volatile.Read(ref _frame)) - last) / 90 : null;
        return new ProgramStatus(present, composed, Interlocked.Read(ref _framesLate), Volatile.Read(ref _integratedLoudness) is var lufs && double.IsNaN(lufs) ? null : lufs,
            _encoder?.Restarts ?? 0, _encoder?.FramesDropped ?? 0, micros, lag);
    }

    /// <summary>The RTP input <paramref name="id"/> (to say who feeds it), or null when the program has none of that id.</summary>
    public RtpInputDecoder? RtpInput(string id) => _decoders.OfType<RtpInputDecoder>().FirstOrDefault(d => d.InputId == id);

    internal ProgramEncoder? Encoder => _encoder;

    /// <summary>The layout on air (the last one applied).</summary>
    internal ProgramLayout Layout => Volatile.Read(ref _scene).Layout;

    internal IReadOnlyList<InputDecoder> Inputs => _decoders;

    private void Check(ProgramScene scene)
    {
        foreach (var id in scene.Mix.Keys)
        {
            if (!_decoders.Exists(d => d.InputId == id)) throw new LayoutException($"audio.{id}", "no such input");
        }
        LayoutPlanner.Plan(scene.Layout, _settings.Canvas, Sizes(present: false));
    }

    /// <summary>Every source's picture size now (null while an input has no picture), as the planner takes them.</summary>
    private Dictionary<string, PixelSize?> Sizes(bool present)
    {
        var sizes = new Dictionary<string, PixelSize?>(StringComparer.Ordinal);
        foreach (var decoder in _decoders) sizes[decoder.InputId] = present && decoder.IsPresent ? decoder.Video?.Size : null;
        foreach (var (id, image) in _images) sizes[id] = new PixelSize(image.Width, image.Height);
        return sizes;
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var clock = _settings.Clock;
        var canvas = new Yuv420Frame(_settings.Canvas.Width, _settings.Canvas.Height);
        var fadeFrom = new Yuv420Frame(_settings.Canvas.Width, _settings.Canvas.Height);
        var compositor = new FrameCompositor();
        var sources = new CompositionSources();
        foreach (var (id, image) in _images) sources.Images[id] = image;
        var mixer = new AudioMixer();
        foreach (var decoder in _decoders) mixer.AddInput(decoder.InputId);
        var blocks = _decoders.ToDictionary(d => d.InputId, _ => new float[mixer.BlockSamples], StringComparer.Ordinal);
        var ready = new Dictionary<string, float[]>(StringComparer.Ordinal);
        var bus = new float[mixer.BlockSamples];
        ProgramScene? scene = null;
        LayoutPlan? plan = null, fadePlan = null;
        // Null: plan on the next frame (the first, or a new scene). A program of images alone has an empty presence key,
        // so "" cannot stand for "not planned yet".
        string? planKey = null;
        int fadeStep = 0;
        long mixedSamples = 0, start = _time.GetTimestamp();
        try
        {
            for (long frame = 0; !cancellationToken.IsCancellationRequested; frame++)
            {
                long dueTicks = clock.VideoTicks(frame);
                Volatile.Write(ref _frame, frame);
                var wait = TimeSpan.FromTicks(dueTicks * TimeSpan.TicksPerSecond / Timescales.Video) - _time.GetElapsedTime(start);
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);

                // Audio first: every 1024-sample block whose samples are due by the end of this frame.
                while (mixedSamples + ProgramAudio.BlockFrames <= clock.AudioSample(frame + 1))
                {
                    ready.Clear();
                    foreach (var decoder in _decoders)
                    {
                        if (decoder.IsPresent && decoder.Audio.TryRead(blocks[decoder.InputId])) ready[decoder.InputId] = blocks[decoder.InputId];
                    }
                    mixer.Mix(ready, bus);
                    _encoder!.Write(bus);
                    mixedSamples += ProgramAudio.BlockFrames;
                }

                long late = clock.FrameAt(TimelineJoin.ToVideoTicks(_time.GetElapsedTime(start))) - frame;
                if (late > 1 && frame > 0)
                {
                    // Behind the clock: send the last canvas again for this slot and catch up, composing nothing.
                    Interlocked.Increment(ref _framesLate);
                    _encoder!.Write(canvas, frame);
                    continue;
                }

                long composeStart = Stopwatch.GetTimestamp();
                var current = Volatile.Read(ref _scene);
                if (!ReferenceEquals(current, scene))
                {
                    foreach (var decoder in _decoders)
                    {
                        mixer.Set(decoder.InputId, current.Mix.TryGetValue(decoder.InputId, out var settings) ? settings : new MixSettings());
                    }
                    fadePlan = scene is not null && current.Transition == LayoutTransition.Fade ? plan : null;
                    fadeStep = 0;
                    scene = current;
                    planKey = null;
                }
                string key = PresenceKey(sources);
                if (key != planKey)
                {
                    plan = LayoutPlanner.Plan(scene.Layout, _settings.Canvas, Sizes(present: true));
                    planKey = key;
                }
                compositor.Compose(canvas, plan!, sources);
                if (fadePlan is not null)
                {
                    compositor.Compose(fadeFrom, fadePlan, sources);
                    CrossFade.Blend(fadeFrom, canvas, ++fadeStep, _settings.FadeFrames, canvas);
                    if (fadeStep >= _settings.FadeFrames) fadePlan = null;
                }
                Interlocked.Add(ref _composeTicks, Stopwatch.GetTimestamp() - composeStart);
                Interlocked.Increment(ref _framesComposed);
                _encoder!.Write(canvas, frame);
                if (frame % clock.RateNumerator == 0) Volatile.Write(ref _integratedLoudness, mixer.Loudness.Integrated() ?? double.NaN);
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
    }

    /// <summary>
    /// Refreshes each input's picture in <paramref name="sources"/> and returns what the plan depends on: which inputs
    /// have a picture and at what size. Only a change of it replans (planning allocates; a frame does not).
    /// </summary>
    private string PresenceKey(CompositionSources sources)
    {
        Span<char> key = stackalloc char[_decoders.Count * 3];
        for (int i = 0; i < _decoders.Count; i++)
        {
            var decoder = _decoders[i];
            var picture = decoder.IsPresent ? decoder.Video?.Read() : null;
            if (picture is null) sources.Frames.Remove(decoder.InputId);
            else sources.Frames[decoder.InputId] = picture;
            key[i * 3] = picture is null ? '0' : '1';
            key[(i * 3) + 1] = (char)(picture?.Width ?? 0);
            key[(i * 3) + 2] = (char)(picture?.Height ?? 0);
        }
        return _lastKey.AsSpan().SequenceEqual(key) ? _lastKey : (_lastKey = new string(key));
    }

    private string _lastKey = "";

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        if (_encoder is not null) await _encoder.DisposeAsync().ConfigureAwait(false);
        foreach (var decoder in _decoders) await decoder.DisposeAsync().ConfigureAwait(false);
        if (_output is not null) _registry.EndPublish(_output);
        _stop.Dispose();
        LogStopped(_channel);
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Program {Channel} started: {Inputs} inputs onto {Width}x{Height}")]
    private partial void LogStarted(string channel, int inputs, int width, int height);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Program {Channel}: layout {Kind} applied ({Transition})")]
    private partial void LogApplied(string channel, string kind, string transition);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Critical, Message = "Program {Channel}: its compositing loop failed and stopped")]
    private partial void LogLoopFailed(Exception ex, string channel);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "Program {Channel} stopped")]
    private partial void LogStopped(string channel);
}
