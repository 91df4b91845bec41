using System.Security.Cryptography;
using Broadcast.Compositor;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Control;
using Broadcast.Control.Programs;
using Broadcast.Media;

namespace Broadcast.Server;

/// <summary>Programs on ingest nodes: control's <see cref="IProgramRunner"/> over the compositor's engine.</summary>
internal static class ProgramSetup
{
    public static void AddPrograms(IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Program");
        var settings = new ProgramSettings(
            configuration["Transcode:FfmpegPath"] is { Length: > 0 } ffmpeg ? ffmpeg : "ffmpeg",
            new PixelSize(section.GetValue("Width", 1280), section.GetValue("Height", 720)),
            new ProgramClock(section.GetValue("FramesPerSecond", 30)))
        {
            VideoKilobits = section.GetValue("VideoKilobits", 3000),
        };
        services.AddSingleton(sp => new EngineProgramRunner(sp.GetRequiredService<LiveStreamRegistry>(), settings,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Broadcast.Compositor.Program")));
        services.AddSingleton<IProgramRunner>(sp => sp.GetRequiredService<EngineProgramRunner>());
        // After the packager: hosted services stop in reverse order, so programs end before the packager drains.
        services.AddHostedService(sp => sp.GetRequiredService<EngineProgramRunner>());
    }
}

/// <summary>
/// One <see cref="ProgramEngine"/> per program channel. The same inputs again: the layout and mix are applied live; other
/// inputs: the engine is replaced (a new broadcast). Layout errors come back as the request's field names.
/// </summary>
internal sealed class EngineProgramRunner(LiveStreamRegistry registry, ProgramSettings settings, ILogger logger) : IProgramRunner, IHostedService
{
    private static readonly TimeSpan ImageDecodeTimeout = TimeSpan.FromSeconds(20);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Running> _programs = new(StringComparer.Ordinal);

    public bool RunsPrograms => true;

    public async Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var layout = Layout(plan.Layout);
        var mix = plan.Audio.ToDictionary(a => a.Key, a => new MixSettings(a.Value?.GainDb ?? 0, a.Value?.Muted ?? false, a.Value?.Solo ?? false),
            StringComparer.Ordinal);
        var transition = plan.Transition == "fade" ? LayoutTransition.Fade : LayoutTransition.Cut;
        string inputsKey = InputsKey(plan.Inputs);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Running? running;
            lock (_programs) _programs.TryGetValue(plan.Slug, out running);
            if (running is not null && running.InputsKey == inputsKey)
            {
                Rejected(() => running.Engine.Apply(layout, mix, transition));
                return State(running.Engine);
            }

            var images = await DecodeImagesAsync(plan.Inputs, cancellationToken).ConfigureAwait(false);
            ProgramEngine? engine = null;
            try
            {
                var channels = plan.Inputs.Where(i => i.ChannelSlug is not null).Select(i => new ChannelInput(i.Id, i.ChannelSlug!)).ToList();
                Rejected(() => engine = new ProgramEngine(plan.Slug, registry, settings, channels, images, layout, logger));
                if (mix.Count > 0 || transition != LayoutTransition.Cut) Rejected(() => engine!.Apply(layout, mix, LayoutTransition.Cut));
                if (running is not null) await StopLockedAsync(plan.Slug).ConfigureAwait(false);
                try
                {
                    engine!.Start();
                }
                catch (InvalidOperationException e)
                {
                    throw new ConflictException($"The channel is on air from another input ({e.Message}); end that broadcast first.");
                }
                lock (_programs) _programs[plan.Slug] = new Running(engine, inputsKey, images);
                return State(engine);
            }
            catch
            {
                if (engine is not null) await engine.DisposeAsync().ConfigureAwait(false);
                foreach (var image in images.Values) image.Dispose();
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public ProgramRunState? Status(string slug)
    {
        lock (_programs) return _programs.TryGetValue(slug, out var running) ? State(running.Engine) : null;
    }

    public async Task<bool> StopAsync(string slug)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return await StopLockedAsync(slug).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Shutdown: every program ends (its broadcast finishes like an encoder's that left).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<string> slugs;
        lock (_programs) slugs = [.. _programs.Keys];
        foreach (var slug in slugs) await StopAsync(slug).ConfigureAwait(false);
    }

    private async Task<bool> StopLockedAsync(string slug)
    {
        Running? running;
        lock (_programs)
        {
            if (!_programs.Remove(slug, out running)) return false;
        }
        await running.Engine.DisposeAsync().ConfigureAwait(false);
        foreach (var image in running.Images.Values) image.Dispose();
        return true;
    }

    private ProgramRunState State(ProgramEngine engine)
    {
        var s = engine.Status();
        return new ProgramRunState(s.InputsPresent, settings.Canvas.Width, settings.Canvas.Height, s.FramesComposed, s.FramesLate, s.IntegratedLoudness,
            s.EncoderRestarts, s.EncoderLagMilliseconds, engine.Output?.StartedAt ?? DateTimeOffset.MinValue);
    }

    private async Task<Dictionary<string, Yuva420Image>> DecodeImagesAsync(IReadOnlyList<ProgramSource> inputs, CancellationToken cancellationToken)
    {
        var images = new Dictionary<string, Yuva420Image>(StringComparer.Ordinal);
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Image is not { } bytes) continue;
            string path = Path.Combine(Path.GetTempPath(), $"broadcast-program-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}");
            try
            {
                await File.WriteAllBytesAsync(path, bytes, cancellationToken).ConfigureAwait(false);
                images[inputs[i].Id] = await ImageInput.DecodeAsync(settings.FfmpegPath, path, new PixelSize(inputs[i].Width, inputs[i].Height),
                    ImageDecodeTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidDataException)
            {
                foreach (var image in images.Values) image.Dispose();
                throw ValidationFailedException.For($"inputs[{i}].image.data", "ffmpeg cannot decode it as a PNG or JPEG.");
            }
            finally
            {
                File.Delete(path);
            }
        }
        return images;
    }

    /// <summary>Runs a step that checks a layout; a <see cref="LayoutException"/> becomes the request's field (<c>layout.…</c> or <c>audio.…</c>).</summary>
    private static void Rejected(Action step)
    {
        try
        {
            step();
        }
        catch (LayoutException e)
        {
            string field = e.Field.StartsWith("audio.", StringComparison.Ordinal) ? e.Field : "layout." + e.Field;
            throw ValidationFailedException.For(field, e.Message[(e.Field.Length + 2)..]);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "settings")
        {
            throw ValidationFailedException.For("audio", e.Message);
        }
    }

    private static string InputsKey(IReadOnlyList<ProgramSource> inputs) => string.Join('\n', inputs.Select(i =>
        i.ChannelSlug is { } slug ? $"{i.Id}=channel:{slug}" : $"{i.Id}=image:{i.Width}x{i.Height}:{Convert.ToHexStringLower(SHA256.HashData(i.Image!))}"));

    /// <summary>Control checked the words (kind, fit, corner); the engine checks the geometry.</summary>
    private static ProgramLayout Layout(ProgramLayoutRequest request)
    {
        var kind = request.Kind switch
        {
            "single" => LayoutKind.Single,
            "pip" => LayoutKind.PictureInPicture,
            "side-by-side" => LayoutKind.SideBySide,
            "grid" => LayoutKind.Grid,
            _ => LayoutKind.Free,
        };
        var tiles = (request.Inputs ?? []).Select(t => new LayoutInput(t?.Id ?? "", t?.Fit == "fill" ? FitMode.Fill : FitMode.Fit,
            t?.Rect is { } r ? new PixelRect(r.X, r.Y, r.Width, r.Height) : null, t?.Z ?? 0)).ToList();
        var layout = new ProgramLayout(kind, tiles)
        {
            Overlays = (request.Overlays ?? []).Select(o => new LayoutOverlay(o.Id!, new PixelRect(o.Rect!.X, o.Rect.Y, o.Rect.Width, o.Rect.Height))).ToList(),
        };
        if (request.InsetCorner is { } corner)
        {
            layout = layout with
            {
                InsetCorner = corner switch { "top-left" => Corner.TopLeft, "top-right" => Corner.TopRight, "bottom-left" => Corner.BottomLeft, _ => Corner.BottomRight },
            };
        }
        if (request.InsetWidthPerMille is { } share) layout = layout with { InsetWidthPerMille = share };
        if (request.InsetMargin is { } margin) layout = layout with { InsetMargin = margin };
        return layout;
    }

    private sealed record Running(ProgramEngine Engine, string InputsKey, IReadOnlyDictionary<string, Yuva420Image> Images);
}
