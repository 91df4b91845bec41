using Broadcast.Processes;
using Broadcast.Compositor;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Control;
using Broadcast.Control.Programs;
using Broadcast.Ingest;
using Broadcast.Ingest.Pull;
using Broadcast.Network.Outbound;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>Programs on ingest nodes: control's <see cref="IProgramRunner"/> over the compositor's engine.</summary>
public static class ProgramSetup
{
    public static void AddPrograms(this IServiceCollection services, IConfiguration configuration)
    {
        // Source inputs are pulled as channels' pull sources are, where this node pulls at all.
        var pulls = PullOptions.FromConfiguration(configuration, services.GetFfmpegLocator(configuration));
        services.AddCompositor(configuration, pulls.Enabled
            ? sp => new PullProgramFeeds(pulls, sp.GetRequiredService<OutboundGuard>(), sp.GetRequiredService<ILoggerFactory>(),
                sp.GetService<TimeProvider>())
            : null);
        services.AddSingleton(sp => new EngineProgramRunner(sp.GetRequiredService<ProgramHost>(), sp.GetRequiredService<ProgramSettings>(),
            sp.GetRequiredService<PublishGate>()));
        services.AddSingleton<IProgramRunner>(sp => sp.GetRequiredService<EngineProgramRunner>());
        // After the packager: hosted services stop in reverse order, so programs end before the packager drains.
        services.AddHostedService(sp => sp.GetRequiredService<EngineProgramRunner>());
    }
}

/// <summary>
/// Control's <see cref="IProgramRunner"/> over the compositor's <see cref="ProgramHost"/>: the request's words become the
/// compositor's types, and the compositor's refusals become the request's field errors or a conflict. Its programs are
/// the host's of <see cref="ProgramOwner.Api"/>: a room's show in the same host is not one of them.
/// </summary>
internal sealed class EngineProgramRunner : IProgramRunner, IHostedService
{
    private readonly ProgramHost _host;
    private readonly ProgramSettings _settings;
    private readonly PublishGate _gate;

    public EngineProgramRunner(ProgramHost host, ProgramSettings settings, PublishGate gate)
    {
        _host = host;
        _settings = settings;
        _gate = gate;
        host.EndedFromOutside += (slug, _, owner) =>
        {
            if (owner == ProgramOwner.Api) Ended?.Invoke(slug);
        };
    }

    public bool RunsPrograms => true;

    public event Action<string>? Ended;

    public IReadOnlyCollection<string> Running => _host.Running(ProgramOwner.Api);

    public async Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var mix = plan.Audio.ToDictionary(a => a.Key, a => new MixSettings(a.Value?.GainDb ?? 0, a.Value?.Muted ?? false, a.Value?.Solo ?? false),
            StringComparer.Ordinal);
        var inputs = plan.Inputs.Select(i => i.Pull is { } pull
                ? ProgramInputSource.Fed(i.Id, new FeedSource(pull.Url, pull.Loop, pull.AllowUntrustedCertificate)) with { Label = i.Label }
                : new ProgramInputSource(i.Id, i.ChannelSlug, i.Image, i.Width, i.Height) { Label = i.Label })
            .ToList();
        try
        {
            var layout = Layout(plan.Layout);
            var transition = LayoutWords.Transition(plan.Transition);
            // A program starting here passes the gate: it may be one whose node died within the reconnect grace, and like an
            // encoder's publish to this node it continues that broadcast (the same playlists, the next segment numbers).
            var ticket = _host.Find(plan.Slug) is null ? await _gate.AdmitProgramAsync(plan.Slug, cancellationToken).ConfigureAwait(false) : null;
            var engine = await _host.ApplyAsync(plan.Slug, ProgramOwner.Api, inputs, layout, mix, transition, ticket, cancellationToken)
                .ConfigureAwait(false);
            return State(plan.Slug, engine);
        }
        catch (LayoutException e)
        {
            // The planner names the layout's own field (or an audio field, or the transition): as the request names it.
            string field = e.Field.StartsWith("audio.", StringComparison.Ordinal) || e.Field == "transition" ? e.Field : "layout." + e.Field;
            throw ValidationFailedException.For(field, e.Problem);
        }
        catch (ProgramImageException e)
        {
            throw ValidationFailedException.For($"inputs[{e.Index}].image.data", e.Message);
        }
        catch (ProgramChannelOnAirException e)
        {
            throw new ConflictException(e.Message);
        }
        catch (ProgramOwnedException e)
        {
            throw new ConflictException(e.Message);
        }
        catch (ProgramFeedException e)
        {
            throw ValidationFailedException.For($"inputs[{e.Index}].source", e.Message);
        }
    }

    public ProgramRunState? Status(string slug) => _host.Find(slug) is { } engine ? State(slug, engine) : null;

    public ProgramLevelsResponse? Levels(string slug) =>
        _host.Find(slug)?.Levels() is { } l ? new ProgramLevelsResponse(l.Inputs, l.Program, l.At) : null;

    public ProgramInputsPreview? Preview(string slug) =>
        _host.Find(slug)?.RequestPreview() is { } p ? new ProgramInputsPreview(p.Jpeg, p.Inputs, p.TileWidth, p.TileHeight, p.At) : null;

    public Task<bool> StopAsync(string slug) => _host.StopAsync(slug, ProgramOwner.Api);

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Shutdown: every program ends (its broadcast finishes like an encoder's that left).</summary>
    public async Task StopAsync(CancellationToken cancellationToken) => await _host.DisposeAsync().ConfigureAwait(false);

    private ProgramRunState State(string slug, ProgramEngine engine)
    {
        var s = engine.Status();
        return new ProgramRunState(s.InputsPresent, _settings.Canvas.Width, _settings.Canvas.Height, s.FramesComposed, s.FramesLate,
            s.IntegratedLoudness,
            s.EncoderRestarts, s.EncoderLagMilliseconds, engine.Output?.StartedAt ?? DateTimeOffset.MinValue)
        {
            Pulls = _host.FeedStatuses(slug)
                .ToDictionary(f => f.Key, f => new ProgramPullStatus(f.Value.State, f.Value.Reason), StringComparer.Ordinal),
        };
    }

    /// <summary>Control checked the words (kind, fit, corner) and the compositor reads them (<see cref="LayoutWords"/>);
    /// the engine checks the geometry.</summary>
    private static ProgramLayout Layout(ProgramLayoutRequest request)
    {
        var kind = LayoutWords.Kind(request.Kind);
        var tiles = (request.Inputs ?? []).Select((t, i) => new LayoutInput(t?.Id ?? "", LayoutWords.Fit(t?.Fit, $"inputs[{i}].fit"),
            t?.Rect is { } r ? new PixelRect(r.X, r.Y, r.Width, r.Height) : null, t?.Z ?? 0)).ToList();
        var layout = new ProgramLayout(kind, tiles)
        {
            Overlays = (request.Overlays ?? []).Select(o => new LayoutOverlay(o.Id!, new PixelRect(o.Rect!.X, o.Rect.Y, o.Rect.Width, o.Rect.Height)))
                .ToList(),
        };
        if (request.InsetCorner is { } corner)
        {
            layout = layout with
            {
                InsetCorner = LayoutWords.Corner(corner),
            };
        }
        if (request.InsetWidthPerMille is { } share) layout = layout with { InsetWidthPerMille = share };
        if (request.InsetMargin is { } margin) layout = layout with { InsetMargin = margin };
        return layout;
    }
}
