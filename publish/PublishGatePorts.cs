using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Ingest.Pull;
using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.WebRtc.Relay;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>Control's rules for a publish as the <see cref="PublishGate"/> asks them (<see cref="PublishPolicy"/>; a fake in tests).</summary>
internal interface IPublishRules
{
    /// <summary>An encoder's stream key, schedule, platform callback and lease (<see cref="PublishPolicy.DecideAsync"/>).</summary>
    Task<PublishVerdict> DecideEncoderAsync(string application, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken);

    /// <summary>A WHIP publisher's stream key and schedule (<see cref="PublishPolicy.DecideRoomPublishAsync"/>).</summary>
    Task<PublishVerdict> DecideWhipAsync(string streamKey, PublishCaller caller, CancellationToken cancellationToken);

    /// <summary>A room's show's lease (<see cref="PublishPolicy.DecideRoomShowAsync"/>).</summary>
    Task<PublishVerdict> DecideRoomShowAsync(string slug, CancellationToken cancellationToken);
}

/// <summary>
/// The continuation of a broadcast a dead node left within the reconnect grace, prepared before a source of its channel
/// starts here (<see cref="LivePackager.PrepareContinuationAsync"/>; a fake in tests).
/// </summary>
internal interface IBroadcastContinuations
{
    Task PrepareAsync(string slug, CancellationToken cancellationToken);
}

internal sealed class PolicyPublishRules(PublishPolicy policy) : IPublishRules
{
    public Task<PublishVerdict> DecideEncoderAsync(string application, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken) => policy.DecideAsync(application, streamKey, protocol, caller, cancellationToken);

    public Task<PublishVerdict> DecideWhipAsync(string streamKey, PublishCaller caller, CancellationToken cancellationToken) =>
        policy.DecideRoomPublishAsync(streamKey, caller, cancellationToken);

    public Task<PublishVerdict> DecideRoomShowAsync(string slug, CancellationToken cancellationToken) =>
        policy.DecideRoomShowAsync(slug, cancellationToken);
}

internal sealed class PackagerContinuations(LivePackager packager, IOptions<IngestOptions> ingest) : IBroadcastContinuations
{
    public Task PrepareAsync(string slug, CancellationToken cancellationToken) =>
        packager.PrepareContinuationAsync(slug, TimeSpan.FromSeconds(ingest.Value.ReconnectGraceSeconds), cancellationToken);
}

/// <summary>Ingest's pulls of channels through the gate (<see cref="PublishGate.AdmitPullAsync"/>).</summary>
internal sealed class GatePullAdmission(PublishGate gate) : IPullAdmission
{
    public Task<PublishTicket> AdmitAsync(string streamName, CancellationToken cancellationToken) => gate.AdmitPullAsync(streamName, cancellationToken);
}

/// <summary>A program's feeds through the gate (<see cref="PublishGate.AdmitProgramFeed"/>).</summary>
internal sealed class ProgramFeedAdmission : IPullAdmission
{
    public static readonly ProgramFeedAdmission Instance = new();

    public Task<PublishTicket> AdmitAsync(string streamName, CancellationToken cancellationToken) =>
        Task.FromResult(PublishGate.AdmitProgramFeed(streamName));
}

/// <summary>An origin-only node's relayed channels through the gate (<see cref="PublishGate.AdmitRelay"/>).</summary>
internal sealed class GateRelayAdmission : IRelayAdmission
{
    public PublishTicket Admit(string channel) => PublishGate.AdmitRelay(channel);
}

/// <summary>The gate on an ingest node, with each source's way to it and control's view of the node's live streams.</summary>
public static class PublishGateSetup
{
    /// <summary>
    /// <see cref="PublishGate"/> over control's <see cref="PublishPolicy"/> and the packager's continuations; ingest's
    /// <see cref="IPublishAuthorizer"/> (RTMP, RTMPS, SRT) and <see cref="IPullAdmission"/> through it; and this node's live
    /// streams as control's <see cref="IChannelStreamPresence"/>.
    /// </summary>
    public static IServiceCollection AddPublishGate(this IServiceCollection services) =>
        services.AddSingleton<IChannelStreamPresence, RegistryStreamPresence>().AddSingleton<IPublishAuthorizer, ChannelPublishAuthorizer>()
            .AddSingleton<IPublishRules, PolicyPublishRules>().AddSingleton<IBroadcastContinuations, PackagerContinuations>()
            .AddSingleton<PublishGate>().AddSingleton<IPullAdmission, GatePullAdmission>();

    /// <summary>An origin-only node's door for the channels it relays from ingest nodes (before webrtc's relayed WHEP).</summary>
    public static IServiceCollection AddRelayAdmission(this IServiceCollection services) =>
        services.AddSingleton<IRelayAdmission, GateRelayAdmission>();
}
