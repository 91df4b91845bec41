using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Programs;

/// <summary>
/// Programs: a channel whose input is a composition of other channels and images. Checks a request (every field named
/// as in the body), resolves its channel inputs, hands it to the <see cref="IProgramRunner"/>, stores what took effect
/// so it resumes after a restart, and logs who changed what.
/// </summary>
/// <remarks>
/// On ingest nodes a program takes its channel's lease like a publish (<see cref="ChannelLeases"/>), so two nodes never run
/// one program: a node that finds the lease held elsewhere refuses (409) or, at start-up, leaves the program to its holder.
/// </remarks>
public sealed partial class ProgramService(IProgramRepository repository, ChannelService channels, IProgramRunner runner, TimeProvider time,
    ILogger<ProgramService> logger, ChannelLeases? leases = null)
{
    /// <summary>The most inputs a program composes (a 2×2 grid plus images).</summary>
    public const int MaxInputs = 8;

    /// <summary>An image input's encoded bytes at most: logos, lower thirds and slates, not films.</summary>
    public const int MaxImageBytes = 512 * 1024;

    public const int MaxImageSide = 4096;

    /// <summary>A placeholder's name at most, in characters (the compositor's name card takes no more).</summary>
    public const int MaxLabelLength = 48;

    private readonly SemaphoreSlim _changes = new(1, 1);

    private static readonly string[] Kinds = ["single", "pip", "side-by-side", "grid", "free"];
    private static readonly string[] Corners = ["top-left", "top-right", "bottom-left", "bottom-right"];

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    private static partial Regex InputId();

    public async Task<ProgramResponse?> GetAsync(Channel channel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return await repository.GetAsync(channel.Id, cancellationToken).ConfigureAwait(false) is { } stored
            ? await ResponseAsync(channel, stored, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>Starts or changes the channel's program and answers with the state that took effect.</summary>
    /// <exception cref="ValidationFailedException">A field is invalid (named as in the request).</exception>
    /// <exception cref="ConflictException">The channel is on air from another input, or this node runs no programs.</exception>
    public async Task<ProgramResponse> SetAsync(Channel channel, ProgramRequest request, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(request);
        var normalized = request with { Transition = request.Transition?.Trim().ToLowerInvariant() ?? "cut" };
        var plan = await PlanAsync(channel, normalized, cancellationToken).ConfigureAwait(false);
        StoredProgram stored;
        // One change at a time: what is stored is what runs, whichever of two concurrent calls lands last.
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await LeaseAsync(channel, cancellationToken).ConfigureAwait(false);
            await runner.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            stored = new StoredProgram(channel.Id, JsonSerializer.Serialize(normalized, ControlJsonContext.Default.ProgramRequest), actor, time.GetUtcNow());
            if (!await repository.SetAsync(stored, cancellationToken).ConfigureAwait(false))
            {
                await runner.StopAsync(channel.Slug).ConfigureAwait(false);
                throw ValidationFailedException.For("channel", $"Channel '{channel.Id}' no longer exists.");
            }
        }
        finally
        {
            _changes.Release();
        }
        LogSet(channel.Id, actor, plan.Inputs.Count, normalized.Layout!.Kind!, normalized.Transition!);
        return await ResponseAsync(channel, stored, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Changes the layout, the mix or the transition of the channel's program, keeping its inputs. Null when it has none.</summary>
    /// <exception cref="ValidationFailedException">A field is invalid (named as in the request).</exception>
    public async Task<ProgramResponse?> PatchAsync(Channel channel, ProgramPatchRequest patch, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(patch);
        if (await repository.GetAsync(channel.Id, cancellationToken).ConfigureAwait(false) is not { } stored) return null;
        var current = JsonSerializer.Deserialize(stored.Document, ControlJsonContext.Default.ProgramRequest)!;
        var next = current with
        {
            Layout = patch.Layout ?? current.Layout,
            Audio = patch.Audio ?? current.Audio,
            // A transition belongs to one change: a patch without one cuts.
            Transition = patch.Transition ?? "cut",
        };
        return await SetAsync(channel, next, actor, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the channel's program and forgets it. False when it had none.</summary>
    public async Task<bool> StopAsync(Channel channel, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        bool stopped, deleted;
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            stopped = await runner.StopAsync(channel.Slug).ConfigureAwait(false);
            deleted = await repository.DeleteAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _changes.Release();
        }
        if (stopped || deleted) LogStopped(channel.Id, actor);
        return stopped || deleted;
    }

    /// <summary>Starts every stored program again (this node's start): one that cannot start is logged and left stored.</summary>
    public async Task<int> ResumeAllAsync(CancellationToken cancellationToken)
    {
        if (!runner.RunsPrograms) return 0;
        int resumed = 0;
        foreach (var stored in await repository.ListAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                if (await channels.GetAsync(stored.ChannelId, cancellationToken).ConfigureAwait(false) is not { } channel) continue;
                var request = JsonSerializer.Deserialize(stored.Document, ControlJsonContext.Default.ProgramRequest)
                    ?? throw new InvalidDataException("the stored program is empty");
                var plan = await PlanAsync(channel, request, cancellationToken).ConfigureAwait(false);
                await LeaseAsync(channel, cancellationToken).ConfigureAwait(false);
                await runner.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
                LogResumed(channel.Id, stored.UpdatedBy, stored.UpdatedAt);
                resumed++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogResumeFailed(ex, stored.ChannelId);
            }
        }
        return resumed;
    }

    /// <summary>Takes (or keeps) the channel's lease for this node before its program runs here; the keeper renews it while the program is on air.</summary>
    private async Task LeaseAsync(Channel channel, CancellationToken cancellationToken)
    {
        if (leases is null || !runner.RunsPrograms || runner.Status(channel.Slug) is not null) return;
        if (await leases.TryAcquireAsync(channel, cancellationToken).ConfigureAwait(false) is { } holder)
            throw new ConflictException($"Ingest node {holder.NodeId} holds channel '{channel.Id}' until {holder.ExpiresAt:O}; its program runs there.");
    }

    private async Task<ProgramPlan> PlanAsync(Channel channel, ProgramRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        var sources = new List<ProgramSource>();
        var images = new HashSet<string>(StringComparer.Ordinal);
        if (request.Inputs is not { Count: > 0 } inputs) Fail("inputs", $"A program needs 1 to {MaxInputs} inputs.");
        else if (inputs.Count > MaxInputs) Fail("inputs", $"A program takes at most {MaxInputs} inputs, not {inputs.Count}.");
        else
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                string field = $"inputs[{i}]";
                var input = inputs[i];
                if (input is null) { Fail(field, "The input is missing."); continue; }
                if (input.Id is not { } id || !InputId().IsMatch(id)) { Fail(field + ".id", "An id of 1 to 32 letters, digits, '-' or '_' is required."); continue; }
                if (sources.Exists(s => s.Id == id)) { Fail(field + ".id", $"Two inputs are called '{id}'."); continue; }
                if ((input.Channel is null) == (input.Image is null)) { Fail(field, "Give exactly one of 'channel' (a channel's id or slug) and 'image'."); continue; }
                if (input.Label is { } label && LabelError(label, input.Image is not null) is { } labelError) { Fail(field + ".label", labelError); continue; }
                if (input.Channel is { } reference)
                {
                    var source = await channels.GetAsync(reference, cancellationToken).ConfigureAwait(false)
                        ?? await channels.GetBySlugAsync(reference, cancellationToken).ConfigureAwait(false);
                    if (source is null) Fail(field + ".channel", $"No channel has id or slug '{reference}'.");
                    else if (source.Id == channel.Id) Fail(field + ".channel", "A program cannot take its own channel as an input.");
                    else sources.Add(new ProgramSource(id, source.Slug, null, 0, 0, input.Label ?? source.Name));
                    continue;
                }
                var image = input.Image!;
                byte[]? bytes = null;
                if (image.Data is not { Length: > 0 } data || data.Length > (MaxImageBytes + 2) / 3 * 4 || !TryBase64(data, out bytes))
                    Fail(field + ".image.data", $"A base64 PNG or JPEG of at most {MaxImageBytes / 1024} KiB is required.");
                else if (image.Width is not { } w || w < 2 || w > MaxImageSide || w % 2 != 0)
                    Fail(field + ".image.width", $"An even width from 2 to {MaxImageSide} pixels is required.");
                else if (image.Height is not { } h || h < 2 || h > MaxImageSide || h % 2 != 0)
                    Fail(field + ".image.height", $"An even height from 2 to {MaxImageSide} pixels is required.");
                else
                {
                    sources.Add(new ProgramSource(id, null, bytes, w, h));
                    images.Add(id);
                }
            }
        }

        var layout = request.Layout;
        if (layout is null) Fail("layout", "A layout is required.");
        else
        {
            if (layout.Kind is not { } kind || !Kinds.Contains(kind)) Fail("layout.kind", $"One of {string.Join(", ", Kinds)} is required.");
            if (layout.Inputs is null) Fail("layout.inputs", "The tiles of the layout are required: [{\"id\": …}, …].");
            else
            {
                for (int i = 0; i < layout.Inputs.Count; i++)
                {
                    if (layout.Inputs[i]?.Fit is { } fit && fit is not ("fit" or "fill")) Fail($"layout.inputs[{i}].fit", "Either fit or fill.");
                }
            }
            if (layout.InsetCorner is { } corner && !Corners.Contains(corner)) Fail("layout.insetCorner", $"One of {string.Join(", ", Corners)}.");
            for (int i = 0; i < (layout.Overlays?.Count ?? 0); i++)
            {
                if (layout.Overlays![i]?.Id is not { } overlay || !images.Contains(overlay)) Fail($"layout.overlays[{i}].id", "An overlay shows an image input.");
                else if (layout.Overlays[i].Rect is null) Fail($"layout.overlays[{i}].rect", "An overlay needs its rectangle.");
            }
        }

        var audio = request.Audio ?? [];
        foreach (var (id, mix) in audio)
        {
            string field = $"audio.{id}";
            if (images.Contains(id)) Fail(field, "An image has no sound.");
            else if (!sources.Exists(s => s.Id == id) && errors.Count == 0) Fail(field, "No input has this id.");
            else if (mix?.GainDb is { } gain && (!double.IsFinite(gain) || gain > 24 || gain < -96)) Fail(field + ".gainDb", "A gain from -96 to +24 dB.");
        }

        if (request.Transition is not ("cut" or "fade")) Fail("transition", "Either cut or fade.");
        if (errors.Count > 0) throw new ValidationFailedException(errors);
        return new ProgramPlan(channel.Slug, sources, layout!, audio, request.Transition!);
    }

    private static bool TryBase64(string data, out byte[]? bytes)
    {
        bytes = new byte[data.Length / 4 * 3 + 3];
        if (Convert.TryFromBase64String(data, bytes, out int written) && written <= MaxImageBytes)
        {
            bytes = bytes[..written];
            return true;
        }
        bytes = null;
        return false;
    }

    /// <summary>Why a label cannot be taken, or null: it names a channel input's placeholder, on one line.</summary>
    private static string? LabelError(string label, bool image) =>
        image ? "An image input has no placeholder to name; 'label' is for channel inputs."
        : label.Trim().Length == 0 || label.Length > MaxLabelLength || label.Any(char.IsControl)
            ? $"A label of 1 to {MaxLabelLength} characters on one line (no control characters) is required."
            : null;

    private async Task<ProgramResponse> ResponseAsync(Channel channel, StoredProgram stored, CancellationToken cancellationToken)
    {
        var request = JsonSerializer.Deserialize(stored.Document, ControlJsonContext.Default.ProgramRequest)!;
        var status = runner.Status(channel.Slug);
        var inputs = new List<ProgramInputState>();
        foreach (var input in request.Inputs ?? [])
        {
            bool present = status?.InputsPresent.TryGetValue(input.Id!, out var p) == true ? p : status is not null && input.Image is not null;
            if (input.Image is { } image)
            {
                inputs.Add(new ProgramInputState(input.Id!, null, null, new ProgramImageSize(image.Width ?? 0, image.Height ?? 0), present));
                continue;
            }
            var source = await channels.GetAsync(input.Channel!, cancellationToken).ConfigureAwait(false)
                ?? await channels.GetBySlugAsync(input.Channel!, cancellationToken).ConfigureAwait(false);
            inputs.Add(new ProgramInputState(input.Id!, source?.Id, source?.Slug, null, present, input.Label ?? source?.Name));
        }
        var engine = status is null ? null : new ProgramEngineState(status.Width, status.Height, status.FramesComposed, status.FramesLate,
            status.IntegratedLoudness, status.EncoderRestarts, status.EncoderLagMilliseconds, status.StartedAt);
        return new ProgramResponse(channel.Id, status is not null, inputs, request.Layout!, request.Audio ?? [], request.Transition ?? "cut",
            stored.UpdatedBy, stored.UpdatedAt, engine);
    }

    [LoggerMessage(EventId = 3901, Level = LogLevel.Information, Message = "Program of channel {ChannelId} set by {Actor}: {Inputs} inputs, layout {Layout}, {Transition}")]
    private partial void LogSet(string channelId, string actor, int inputs, string layout, string transition);

    [LoggerMessage(EventId = 3902, Level = LogLevel.Information, Message = "Program of channel {ChannelId} stopped by {Actor}")]
    private partial void LogStopped(string channelId, string actor);

    [LoggerMessage(EventId = 3903, Level = LogLevel.Information, Message = "Program of channel {ChannelId} resumed as {Actor} left it at {UpdatedAt:o}")]
    private partial void LogResumed(string channelId, string actor, DateTimeOffset updatedAt);

    [LoggerMessage(EventId = 3904, Level = LogLevel.Error, Message = "Program of channel {ChannelId} could not be resumed; it stays stored")]
    private partial void LogResumeFailed(Exception ex, string channelId);
}

/// <summary>Resumes the stored programs once the host has started (the pipeline's readers of the hub are up by then).</summary>
internal sealed class ProgramResumer(ProgramService programs, IHostApplicationLifetime lifetime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try { await started.Task.ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
        }
        await programs.ResumeAllAsync(stoppingToken).ConfigureAwait(false);
    }
}

internal static class ProgramServiceCollectionExtensions
{
    /// <summary>Programs and their resumption; the server replaces the runner on nodes with the pipeline.</summary>
    public static IServiceCollection AddPrograms(this IServiceCollection services)
    {
        services.AddSingleton<IProgramRepository, SqlProgramRepository>();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton<IProgramRunner, NoProgramRunner>(services);
        services.AddSingleton<ProgramService>();
        services.AddHostedService<ProgramResumer>();
        return services;
    }
}
