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
        // One host per node: the API's programs and the rooms' share it (a channel runs one program).
        services.AddSingleton(sp => new ProgramHost(sp.GetRequiredService<LiveStreamRegistry>(), settings,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Broadcast.Compositor.Program")));
        services.AddSingleton(sp => new EngineProgramRunner(sp.GetRequiredService<ProgramHost>(), settings));
        services.AddSingleton<IProgramRunner>(sp => sp.GetRequiredService<EngineProgramRunner>());
        // After the packager: hosted services stop in reverse order, so programs end before the packager drains.
        services.AddHostedService(sp => sp.GetRequiredService<EngineProgramRunner>());
    }
}

/// <summary>
/// Control's <see cref="IProgramRunner"/> over the compositor's <see cref="ProgramHost"/>: the request's words become the
/// compositor's types, and the compositor's refusals become the request's field errors or a conflict.
/// </summary>
internal sealed class EngineProgramRunner(ProgramHost host, ProgramSettings settings) : IProgramRunner, IHostedService
{
    private readonly ProgramHost _host = host;

    public bool RunsPrograms => true;

    public async Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var layout = Layout(plan.Layout);
        var mix = plan.Audio.ToDictionary(a => a.Key, a => new MixSettings(a.Value?.GainDb ?? 0, a.Value?.Muted ?? false, a.Value?.Solo ?? false),
            StringComparer.Ordinal);
        var transition = plan.Transition == "fade" ? LayoutTransition.Fade : LayoutTransition.Cut;
        var inputs = plan.Inputs.Select(i => new ProgramInputSource(i.Id, i.ChannelSlug, i.Image, i.Width, i.Height) { Label = i.Label }).ToList();
        try
        {
            return State(await _host.ApplyAsync(plan.Slug, inputs, layout, mix, transition, cancellationToken).ConfigureAwait(false));
        }
        catch (LayoutException e)
        {
            // The planner names the layout's own field (or an audio field): as the request names it.
            string field = e.Field.StartsWith("audio.", StringComparison.Ordinal) ? e.Field : "layout." + e.Field;
            throw ValidationFailedException.For(field, e.Message[(e.Field.Length + 2)..]);
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "settings")
        {
            throw ValidationFailedException.For("audio", e.Message);
        }
        catch (ProgramImageException e)
        {
            throw ValidationFailedException.For($"inputs[{e.Index}].image.data", e.Message);
        }
        catch (ProgramChannelOnAirException e)
        {
            throw new ConflictException(e.Message);
        }
    }

    public ProgramRunState? Status(string slug) => _host.Find(slug) is { } engine ? State(engine) : null;

    public Task<bool> StopAsync(string slug) => _host.StopAsync(slug);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Shutdown: every program ends (its broadcast finishes like an encoder's that left).</summary>
    public async Task StopAsync(CancellationToken cancellationToken) => await _host.DisposeAsync().ConfigureAwait(false);

    private ProgramRunState State(ProgramEngine engine)
    {
        var s = engine.Status();
        return new ProgramRunState(s.InputsPresent, settings.Canvas.Width, settings.Canvas.Height, s.FramesComposed, s.FramesLate, s.IntegratedLoudness,
            s.EncoderRestarts, s.EncoderLagMilliseconds, engine.Output?.StartedAt ?? DateTimeOffset.MinValue);
    }

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
}
