using System.Text.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Sources;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Programs;

/// <summary>
/// Programs: a channel whose input is a composition of other channels, pulled sources and images. Has a request checked
/// and resolved (<see cref="ProgramPlanner"/>, a source's URL as a pull source's by <paramref name="pullSources"/>), hands
/// it to the <see cref="IProgramRunner"/>, stores what took effect so it resumes after a restart, and logs who changed what.
/// </summary>
/// <remarks>
/// On ingest nodes a program takes its channel's lease like a publish (<see cref="ChannelLeases"/>), so two nodes never run
/// one program: a node that finds the lease held elsewhere refuses (409) or, at start-up, leaves the program to its holder.
/// </remarks>
public sealed partial class ProgramService(IProgramRepository repository, ChannelService channels, IProgramRunner runner, TimeProvider time,
    ILogger<ProgramService> logger, ChannelLeases? leases = null, EventService? events = null, PullSourceService? pullSources = null)
{
    private readonly KeeperBackoff _backoff = new(time);

    private readonly SemaphoreSlim _changes = new(1, 1);

    private readonly ProgramPlanner _planner = new(channels, pullSources);

    public async Task<ProgramResponse?> GetAsync(Channel channel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return await repository.GetAsync(channel.Id, cancellationToken).ConfigureAwait(false) is { } stored
            ? await stored.ToResponseAsync(channel, runner.Status(channel.Slug), channels, cancellationToken).ConfigureAwait(false)
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
        var plan = await _planner.PlanAsync(channel, normalized, cancellationToken).ConfigureAwait(false);
        StoredProgram stored;
        // One change at a time: what is stored is what runs, whichever of two concurrent calls lands last.
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool starting = runner.RunsPrograms && runner.Status(channel.Slug) is null;
            var window = starting ? await WindowAsync(channel, cancellationToken).ConfigureAwait(false) : null;
            if (window is { Allowed: false })
                throw new ConflictException($"{window.Reason}. A program goes on air like an encoder's publish: inside the channel's event window.");
            await LeaseAsync(channel, cancellationToken).ConfigureAwait(false);
            await runner.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            if (window?.Event is not null && events is not null) await events.OnPublishedAsync(channel.Id, cancellationToken).ConfigureAwait(false);
            _backoff.Forget(channel.Id);
            stored = new StoredProgram(channel.Id, JsonSerializer.Serialize(normalized, ControlJsonContext.Default.ProgramRequest), actor,
                time.GetUtcNow());
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
        return await stored.ToResponseAsync(channel, runner.Status(channel.Slug), channels, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Changes the layout, the mix or the transition of the channel's program, keeping its inputs. Null when it has none.</summary>
    /// <exception cref="ValidationFailedException">A field is invalid (named as in the request).</exception>
    public async Task<ProgramResponse?> PatchAsync(Channel channel, ProgramPatchRequest patch, string actor,
        CancellationToken cancellationToken = default)
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

    /// <summary>
    /// One pass of the keeper, run at start and then every <c>Program:KeeperSeconds</c> on nodes that run programs:
    /// <list type="bullet">
    /// <item>a stored program that runs nowhere is started here when its channel's lease is free (its node died and its
    /// lease lapsed, or no node ever took it) and its channel may be on air now (a channel with <c>requireSchedule</c>:
    /// inside an event's window, as for an encoder);</item>
    /// <item>one that failed to start is tried again after a wait that doubles up to <see cref="KeeperBackoff.MaxWait"/>;</item>
    /// <item>a program running here that is no longer stored (stopped through another node) stops.</item>
    /// </list>
    /// Returns how many programs started.
    /// </summary>
    public async Task<int> KeepAsync(CancellationToken cancellationToken)
    {
        if (!runner.RunsPrograms) return 0;
        var stored = await repository.ListAsync(cancellationToken).ConfigureAwait(false);
        var storedIds = stored.Select(p => p.ChannelId).ToHashSet(StringComparer.Ordinal);
        foreach (string slug in runner.Running.ToList())
        {
            if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is { } running
                && storedIds.Contains(running.Id)) continue;
            await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                // Read again under the lock: a PUT on this node may have stored it meanwhile.
                var channel = await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false);
                if (channel is not null && await repository.GetAsync(channel.Id, cancellationToken).ConfigureAwait(false) is not null) continue;
                if (await runner.StopAsync(slug).ConfigureAwait(false)) LogStoppedElsewhere(slug);
            }
            finally
            {
                _changes.Release();
            }
        }

        int started = 0;
        foreach (var program in stored)
        {
            if (_backoff.IsWaiting(program.ChannelId)) continue;
            try
            {
                if (await channels.GetAsync(program.ChannelId, cancellationToken).ConfigureAwait(false) is not { } channel) continue;
                if (runner.Status(channel.Slug) is not null) continue;
                if (await StartStoredAsync(channel, cancellationToken).ConfigureAwait(false)) started++;
                _backoff.Forget(program.ChannelId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogResumeFailed(ex, program.ChannelId, _backoff.Failed(program.ChannelId));
            }
        }
        return started;
    }

    /// <summary>
    /// A program this node ran had its broadcast ended from outside: by an admin's "End broadcast", its event's end or
    /// its schedule's window closing, it is over, and is forgotten like a <c>DELETE</c> (no node resumes it); because
    /// another node took its channel's lease, it moved, and stays stored.
    /// </summary>
    public async Task OnBroadcastEndedAsync(string slug, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel) return;
            if (leases?.TakeLost(channel.Id) is { } node)
            {
                LogMoved(channel.Id, node);
                return;
            }
            if (runner.Status(slug) is not null) return; // started again meanwhile (a PUT): that program stays
            if (await repository.DeleteAsync(channel.Id, cancellationToken).ConfigureAwait(false)) LogStopped(channel.Id, "its broadcast's end");
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>
    /// Starts the channel's stored program here if it still is stored, runs nowhere (its lease is free or this node's) and
    /// may be on air now; false when any of those says not now.
    /// </summary>
    private async Task<bool> StartStoredAsync(Channel channel, CancellationToken cancellationToken)
    {
        await _changes.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (runner.Status(channel.Slug) is not null) return false;
            if (await repository.GetAsync(channel.Id, cancellationToken).ConfigureAwait(false) is not { } stored) return false;
            var window = await WindowAsync(channel, cancellationToken).ConfigureAwait(false);
            if (window is { Allowed: false }) return false;
            if (leases is not null && await leases.TryAcquireAsync(channel, cancellationToken,
                quiet: true).ConfigureAwait(false) is not null) return false;
            var request = JsonSerializer.Deserialize(stored.Document, ControlJsonContext.Default.ProgramRequest)
                ?? throw new InvalidDataException("the stored program is empty");
            var plan = await _planner.PlanAsync(channel, request, cancellationToken).ConfigureAwait(false);
            await runner.ApplyAsync(plan, cancellationToken).ConfigureAwait(false);
            if (window?.Event is not null && events is not null) await events.OnPublishedAsync(channel.Id, cancellationToken).ConfigureAwait(false);
            LogResumed(channel.Id, stored.UpdatedBy, stored.UpdatedAt);
            return true;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Whether the channel may be on air now (its schedule, as for an encoder); null when no events are known here.</summary>
    private async Task<PublishPermission?> WindowAsync(Channel channel, CancellationToken cancellationToken) =>
        events is null ? null : await events.CanPublishAsync(channel, time.GetUtcNow(), cancellationToken).ConfigureAwait(false);

    /// <summary>Takes (or keeps) the channel's lease for this node before its program runs here;
    /// the keeper renews it while the program is on air.</summary>
    private async Task LeaseAsync(Channel channel, CancellationToken cancellationToken)
    {
        if (leases is null || !runner.RunsPrograms || runner.Status(channel.Slug) is not null) return;
        if (await leases.TryAcquireAsync(channel, cancellationToken).ConfigureAwait(false) is { } holder)
            throw new ConflictException($"Ingest node {holder.NodeId} holds channel '{channel.Id}' until {holder.ExpiresAt:O}; " +
                "its program runs there.");
    }

    [LoggerMessage(EventId = 3901, Level = LogLevel.Information,
        Message = "Program of channel {ChannelId} set by {Actor}: {Inputs} inputs, layout {Layout}, {Transition}")]
    private partial void LogSet(string channelId, string actor, int inputs, string layout, string transition);

    [LoggerMessage(EventId = 3902, Level = LogLevel.Information, Message = "Program of channel {ChannelId} stopped by {Actor}")]
    private partial void LogStopped(string channelId, string actor);

    [LoggerMessage(EventId = 3903, Level = LogLevel.Information,
        Message = "Program of channel {ChannelId} resumed on this node as {Actor} left it at {UpdatedAt:o}")]
    private partial void LogResumed(string channelId, string actor, DateTimeOffset updatedAt);

    [LoggerMessage(EventId = 3904, Level = LogLevel.Error,
        Message = "Program of channel {ChannelId} could not be resumed (failure {Failures} in a row); it stays stored and is tried again")]
    private partial void LogResumeFailed(Exception ex, string channelId, int failures);

    [LoggerMessage(EventId = 3907, Level = LogLevel.Warning,
        Message = "Program of channel {ChannelId} moved: ingest node {Node} took its lease, and runs it there")]
    private partial void LogMoved(string channelId, string node);

    [LoggerMessage(EventId = 3905, Level = LogLevel.Information,
        Message = "Program of channel {Slug} stopped here: it was stopped through another node")]
    private partial void LogStoppedElsewhere(string slug);
}
