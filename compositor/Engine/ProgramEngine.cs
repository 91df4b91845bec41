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
/// audio mixed, limited and metered, all encoded into the program channel's hub. The frames are made by its
/// <see cref="ProgramLoop"/>, paced by <see cref="ProgramClock"/>; the engine owns what the loop draws from (the scene:
/// inputs, layout, mix) and the encoder and hub it draws into. <see cref="Apply"/> swaps the layout and the mix
/// atomically; the next frame cuts to it or starts a fade.
/// <see cref="ChangeInputsAsync"/> changes the inputs themselves on air: the encoder, the hub and the timeline stay, so
/// the audience sees a new picture, not a new broadcast.
/// </summary>
public sealed partial class ProgramEngine : IAsyncDisposable
{
    private readonly string _channel;
    private readonly LiveStreamRegistry _registry;
    private readonly ProgramSettings _settings;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly InputDecoderOptions _decoderOptions;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _changeGate = new(1, 1);
    private readonly Lock _sceneLock = new();
    private ProgramScene _scene;
    private volatile bool _started;
    private ProgramEncoder? _encoder;
    private LiveStream? _output;
    private Task _running = Task.CompletedTask;
    private readonly ProgramPreviews _previews;
    private readonly ProgramLoop _loop;

    public ProgramEngine(string channel, LiveStreamRegistry registry, ProgramSettings settings, IReadOnlyList<ChannelInput> inputs,
        IReadOnlyDictionary<string, Yuva420Image> images, ProgramLayout layout, ILogger logger, TimeProvider? time = null,
        IReadOnlyList<string>? rtpInputs = null,
        IReadOnlyDictionary<string, Yuva420Image>? cards = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(inputs);
        _channel = channel;
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        ArgumentNullException.ThrowIfNull(images);
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        _time = time ?? TimeProvider.System;
        _decoderOptions = new InputDecoderOptions(settings.FfmpegPath, settings.Canvas, settings.Clock);
        _previews = new ProgramPreviews(settings.FfmpegPath);
        var decoders = new List<InputDecoder>();
        foreach (var input in inputs) decoders.Add(NewChannelDecoder(input));
        foreach (var id in rtpInputs ?? []) decoders.Add(NewRtpDecoder(id));
        var mix = new Dictionary<string, MixSettings>(StringComparer.Ordinal);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        released.SetResult(); // nothing came before the first scene
        _scene = new ProgramScene(layout, mix, LayoutTransition.Cut, 0, new ProgramInputs(decoders, images, cards ?? NoCards), released);
        _loop = new ProgramLoop(channel, settings, () => Volatile.Read(ref _scene), _previews,
            () => _time.GetUtcNow().UtcTicks - Volatile.Read(ref _previewAskedAt) <= PreviewDemand.Ticks, logger, _time);
        Check(_scene);
    }

    /// <summary>How the program's stream comes in (<see cref="LiveStream.Protocol"/>): <c>program</c>, or <c>room</c> for a room's show.</summary>
    public string Protocol { get; init; } = "program";

    /// <summary>The program's stream in its hub, once started.</summary>
    public LiveStream? Output => _output;

    /// <summary>
    /// Publishes the program channel with the publish gate's <paramref name="ticket"/> for it and starts its decoders, its
    /// encoder and its loop.
    /// </summary>
    public void Start(PublishTicket ticket)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        if (ticket.Name != _channel) throw new ArgumentException($"the ticket is for '{ticket.Name}', not '{_channel}'", nameof(ticket));
        if (!_registry.TryStartPublish(ticket, out var output, Protocol)) throw new InvalidOperationException($"channel '{_channel}' is already live");
        _output = output;
        _encoder = new ProgramEncoder(output,
            new ProgramEncoderOptions(_settings.FfmpegPath, _settings.Canvas, _settings.Clock) { VideoKilobits = _settings.VideoKilobits }, _logger,
            _time);
        _encoder.Start();
        int inputs;
        lock (_sceneLock)
        {
            inputs = _scene.Inputs.Decoders.Count;
            foreach (var decoder in _scene.Inputs.Decoders) decoder.Start();
            var encoder = _encoder;
            _running = Task.Factory.StartNew(() => _loop.RunAsync(encoder, _stop.Token), CancellationToken.None, TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap();
            _started = true;
        }
        LogStarted(_channel, inputs, _settings.Canvas.Width, _settings.Canvas.Height);
    }

    /// <summary>
    /// Swaps in a layout and the per-input mix (inputs not named keep 0 dB, unmuted). Checked first: a layout the
    /// program cannot draw throws <see cref="LayoutException"/> and nothing changes.
    /// </summary>
    public void Apply(ProgramLayout layout, IReadOnlyDictionary<string, MixSettings>? mix, LayoutTransition transition)
    {
        ArgumentNullException.ThrowIfNull(layout);
        lock (_sceneLock)
        {
            var current = _scene;
            // The same inputs: the scene shares its set's release with the scene it follows (see ProgramScene).
            var next = new ProgramScene(layout, mix ?? current.Mix, transition, current.Version + 1, current.Inputs, current.PreviousInputsReleased);
            Check(next);
            Volatile.Write(ref _scene, next);
        }
        LogApplied(_channel, layout.Kind.ToString(), transition.ToString());
    }

    /// <summary>
    /// Changes the program's inputs on air. An input kept (same id, same channel; an RTP place of the same id) keeps
    /// decoding; a new one starts, and while its channel is on air the change waits for its first picture (at most
    /// <see cref="ProgramSettings.InputPreroll"/>) so that the cut or fade lands on it rather than on its placeholder; then
    /// the layout and mix swap in as with <see cref="Apply"/>, and the inputs left out stop once no frame draws them (after
    /// the fade, on a fade). The encoder, the hub and the program's timeline carry on: the audience sees the new picture,
    /// not a new broadcast. <paramref name="images"/> stay the caller's: it may free those left out once this returns.
    /// </summary>
    /// <exception cref="LayoutException">The layout or mix does not fit these inputs; nothing changed.</exception>
    public Task ChangeInputsAsync(IReadOnlyList<ChannelInput> channels, IReadOnlyList<string> rtpInputs,
        IReadOnlyDictionary<string, Yuva420Image> images,
        ProgramLayout layout, IReadOnlyDictionary<string, MixSettings>? mix, LayoutTransition transition, CancellationToken cancellationToken) =>
        ChangeInputsAsync(channels, rtpInputs, images, NoCards, layout, mix, transition, cancellationToken);

    /// <summary>
    /// As the overload without <paramref name="cards"/>, with the name cards the new set's placeholders show (keyed by
    /// input id; the caller's, like the images, and free to go once this returns for those left out).
    /// </summary>
    public async Task ChangeInputsAsync(IReadOnlyList<ChannelInput> channels, IReadOnlyList<string> rtpInputs,
        IReadOnlyDictionary<string, Yuva420Image> images,
        IReadOnlyDictionary<string, Yuva420Image> cards, ProgramLayout layout, IReadOnlyDictionary<string, MixSettings>? mix,
        LayoutTransition transition,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(rtpInputs);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(cards);
        ArgumentNullException.ThrowIfNull(layout);
        await _changeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        var added = new List<InputDecoder>();
        bool committed = false;
        try
        {
            var before = Volatile.Read(ref _scene).Inputs.Decoders;
            var decoders = new List<InputDecoder>();
            foreach (var input in channels)
            {
                var kept = before.OfType<ChannelInputDecoder>().FirstOrDefault(d => d.InputId == input.Id && d.Channel == input.Channel
                    && ReferenceEquals(d.Hub, input.Hub ?? _registry));
                decoders.Add(kept ?? Added(NewChannelDecoder(input)));
            }
            foreach (string id in rtpInputs)
            {
                var kept = before.OfType<RtpInputDecoder>().FirstOrDefault(d => d.InputId == id);
                decoders.Add(kept ?? Added(NewRtpDecoder(id)));
            }
            var inputs = new ProgramInputs(decoders, images, cards);
            ProgramScene Next(ProgramScene current) => new(layout, mix ?? KeptMix(current.Mix, inputs), transition, current.Version + 1, inputs,
                new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            Check(Next(Volatile.Read(ref _scene)));

            if (_started)
            {
                foreach (var decoder in added) decoder.Start();
                await PrerollAsync(added, cancellationToken).ConfigureAwait(false);
            }

            ProgramScene next, replaced;
            lock (_sceneLock)
            {
                replaced = _scene;
                next = Next(replaced);
                Check(next);
                Volatile.Write(ref _scene, next);
                committed = true;
            }
            var removed = replaced.Inputs.Decoders.Where(d => !decoders.Contains(d)).ToList();
            LogInputsChanged(_channel, decoders.Count - added.Count, added.Count, removed.Count, transition.ToString());

            // Let go of what the new set left out once the loop no longer draws it; a loop that is not running draws nothing.
            if (_started) await Task.WhenAny(next.PreviousInputsReleased.Task, _running).ConfigureAwait(false);
            foreach (var decoder in removed) await decoder.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (!committed)
            {
                foreach (var decoder in added) await decoder.DisposeAsync().ConfigureAwait(false);
            }
            _changeGate.Release();
        }

        InputDecoder Added(InputDecoder decoder)
        {
            added.Add(decoder);
            return decoder;
        }
    }

    /// <summary>
    /// Waits until each new channel input whose channel is on air shows a picture, or the preroll runs out. A feed (read from
    /// another hub) was opened for this change and is starting: it is waited for too.
    /// </summary>
    private async Task PrerollAsync(List<InputDecoder> added, CancellationToken cancellationToken)
    {
        var awaited = added.OfType<ChannelInputDecoder>().Where(d => !ReferenceEquals(d.Hub, _registry) || _registry.Find(d.Channel) is not null)
            .ToList();
        long start = _time.GetTimestamp();
        while (awaited.Exists(d => !d.IsPresent) && _time.GetElapsedTime(start) < _settings.InputPreroll)
        {
            await Task.Delay(PrerollPoll, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static readonly TimeSpan PrerollPoll = TimeSpan.FromMilliseconds(20);

    private static readonly IReadOnlyDictionary<string, Yuva420Image> NoCards = new Dictionary<string, Yuva420Image>(StringComparer.Ordinal);

    /// <summary>The mix of the inputs still there (a change that names no mix keeps theirs).</summary>
    private static Dictionary<string, MixSettings> KeptMix(IReadOnlyDictionary<string, MixSettings> mix, ProgramInputs inputs) =>
        mix.Where(m => inputs.Has(m.Key)).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal);

    private ChannelInputDecoder NewChannelDecoder(ChannelInput input)
        => new(input.Id, input.Channel, input.Hub ?? _registry, _decoderOptions, _logger, _time);

    private RtpInputDecoder NewRtpDecoder(string id) => new(id, _decoderOptions, _logger, _time);

    public ProgramStatus Status()
    {
        var present = Volatile.Read(ref _scene).Inputs.Decoders.ToDictionary(d => d.InputId, d => d.IsPresent, StringComparer.Ordinal);
        long composed = _loop.FramesComposed;
        double micros = composed == 0 ? 0 : _loop.ComposeTicks * 1e6 / Stopwatch.Frequency / composed;
        // The hub's newest frame against the frame the loop is at: both on the program's timeline.
        long? lag = _output?.LastVideoTime is long last ? (_settings.Clock.VideoTicks(_loop.Frame) - last) / 90 : null;
        return new ProgramStatus(present, composed, _loop.FramesLate, _loop.IntegratedLoudness, _encoder?.Restarts ?? 0, _encoder?.FramesDropped ?? 0,
            micros, lag);
    }

    /// <summary>
    /// Someone watches the inputs' previews: sheets are drawn (about once a second) while they are asked for, and stop
    /// <see cref="PreviewDemand"/> after the last ask, so a program nobody previews spends nothing on them. Returns the
    /// newest sheet, or null before the first one of this demand (the next ask, a second later, gets one).
    /// </summary>
    public ProgramPreview? RequestPreview()
    {
        var now = _time.GetUtcNow();
        Volatile.Write(ref _previewAskedAt, now.UtcTicks);
        return _previews.Latest is { } latest && now - latest.At <= PreviewDemand ? latest : null;
    }

    /// <summary>
    /// The level meters now: each input's own level (before its fader and mute) and the program bus's (after the limiter),
    /// as peaks of the last 300 ms in dBFS, null for silence. Cheap enough to poll several times a second.
    /// </summary>
    public ProgramLevels Levels() => _loop.Levels();

    /// <summary>How long after the last <see cref="RequestPreview"/> sheets are still drawn.</summary>
    public static TimeSpan PreviewDemand { get; } = TimeSpan.FromSeconds(5);

    private long _previewAskedAt = DateTimeOffset.MinValue.UtcTicks;

    /// <summary>The RTP input <paramref name="id"/> (to say who feeds it), or null when the program has none of that id.</summary>
    public RtpInputDecoder? RtpInput(string id)
        => Volatile.Read(ref _scene).Inputs.Decoders.OfType<RtpInputDecoder>().FirstOrDefault(d => d.InputId == id);

    internal ProgramEncoder? Encoder => _encoder;

    /// <summary>The layout on air (the last one applied).</summary>
    internal ProgramLayout Layout => Volatile.Read(ref _scene).Layout;

    internal IReadOnlyList<InputDecoder> Inputs => Volatile.Read(ref _scene).Inputs.Decoders;

    /// <summary>The name cards of the inputs on air now, by input id.</summary>
    internal IReadOnlyDictionary<string, Yuva420Image> Cards => Volatile.Read(ref _scene).Inputs.Cards;

    private void Check(ProgramScene scene)
    {
        foreach (var (id, settings) in scene.Mix)
        {
            if (!scene.Inputs.Decoders.Any(d => d.InputId == id)) throw new LayoutException($"audio.{id}", "no such input");
            // The mixer's own bound, checked here so the refusal names the field rather than the mixer's parameter.
            if (!AudioMixer.IsGain(settings.GainDecibels))
                throw new LayoutException($"audio.{id}.gainDb", $"gain {settings.GainDecibels} dB: a finite level up to +24 dB (mute for silence)");
        }
        LayoutPlanner.Plan(scene.Layout, _settings.Canvas, ProgramLoop.Sizes(scene.Inputs, present: false));
    }

    public async ValueTask DisposeAsync()
    {
        // A change of inputs in progress finishes first: it owns the decoders it adds or leaves out until it returns.
        await _changeGate.WaitAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        if (_encoder is not null) await _encoder.DisposeAsync().ConfigureAwait(false);
        foreach (var decoder in Volatile.Read(ref _scene).Inputs.Decoders) await decoder.DisposeAsync().ConfigureAwait(false);
        _previews.Dispose();
        if (_output is not null) _registry.EndPublish(_output);
        _stop.Dispose();
        LogStopped(_channel);
    }

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Program {Channel} started: {Inputs} inputs onto {Width}x{Height}")]
    private partial void LogStarted(string channel, int inputs, int width, int height);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Program {Channel}: layout {Kind} applied ({Transition})")]
    private partial void LogApplied(string channel, string kind, string transition);

    [LoggerMessage(EventId = 6205, Level = LogLevel.Information,
        Message = "Program {Channel}: inputs changed on air ({Kept} kept, {Added} added, {Removed} removed; {Transition})")]
    private partial void LogInputsChanged(string channel, int kept, int added, int removed, string transition);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "Program {Channel} stopped")]
    private partial void LogStopped(string channel);
}
