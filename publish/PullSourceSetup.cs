using Broadcast.Control.Events;
using Broadcast.Control.Sources;
using Broadcast.Ingest;
using Broadcast.Ingest.Pull;
using Broadcast.Packager.Live;
using Broadcast.Processes;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>Wires pull sources: the control plane decides what pulls where, ingest's <see cref="PullSupervisor"/> runs it.</summary>
public static class PullSourceSetup
{
    /// <summary>A control or ingest node checks pull URLs by ingest's rules; an ingest node with <c>Pull:Enabled</c> runs them.</summary>
    public static void AddPullSources(this IServiceCollection services, IConfiguration configuration, bool control, bool ingest)
    {
        var options = PullOptions.FromConfiguration(configuration, services.GetFfmpegLocator(configuration));
        if (control || ingest) services.AddSingleton<IPullSourceValidator>(new PipelinePullSourceValidator(options));
        if (!ingest || !options.Enabled) return;
        services.AddSingleton<IPullSourceRunner, PipelinePullSourceRunner>();
    }
}

/// <summary>Ingest's rules for a pull URL (schemes, <c>Pull:MediaRoot</c> containment), so the API refuses what could never run.</summary>
internal sealed class PipelinePullSourceValidator(PullOptions options) : IPullSourceValidator
{
    public bool IsValid(string url, out string error)
    {
        if (PullInput.TryResolve(url, options.MediaRoot, out _, out var reason))
        {
            error = "";
            return true;
        }
        error = "is not a usable source: " + reason + ".";
        return false;
    }
}

/// <summary>Hands the control plane's assignments to the supervisor; a pull going live marks the channel's event live, like a publish.</summary>
internal sealed partial class PipelinePullSourceRunner : IPullSourceRunner
{
    private readonly PullSupervisor _supervisor;
    private readonly EventService _events;
    private readonly ILogger<PipelinePullSourceRunner> _logger;

    /// <param name="supervisor">
    /// Its sessions pass the <see cref="PublishGate"/> before each attempt (<see cref="GatePullAdmission"/>): a pull this node took
    /// over from a dead one continues its broadcast within the reconnect grace, like a publish.
    /// </param>
    public PipelinePullSourceRunner(PullSupervisor supervisor, EventService events, ILogger<PipelinePullSourceRunner> logger)
    {
        _supervisor = supervisor;
        _events = events;
        _logger = logger;
        supervisor.WentLive += spec => _ = MarkLiveAsync(spec);
    }

    public void Apply(IReadOnlyList<PullAssignment> assignments) =>
        _supervisor.Apply(assignments.Select(a => new PullSpec(a.Slug, a.ChannelId, a.Url, a.Loop, a.Key, a.AllowUntrustedCertificate)));

    public PullSourceStatus? Find(string slug)
    {
        if (_supervisor.Find(slug) is not { } session) return null;
        var s = session.Status;
        return new PullSourceStatus(session.Spec.Key, s.State.ToWire(), s.Reason, s.Attempts, s.Since, s.NextAttemptAt, s.Source, s.Detail);
    }

    private async Task MarkLiveAsync(PullSpec spec)
    {
        if (spec.Tag is null) return;
        try
        {
            await _events.OnPublishedAsync(spec.Tag).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogMarkLiveFailed(ex, spec.StreamName);
        }
    }

    [LoggerMessage(EventId = 9111, Level = LogLevel.Warning, Message = "Marking the event of {Channel} live after its pull started failed")]
    private partial void LogMarkLiveFailed(Exception ex, string channel);
}
