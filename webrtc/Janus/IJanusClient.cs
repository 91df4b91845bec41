using System.Text.Json.Nodes;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// The node's Janus as the room and WHEP use it: started on first use, its API session, and what became of its handles.
/// <see cref="JanusSupervisor"/> runs the real one; tests give the services a fake (the services keep only their own
/// policy, so the fake is all they need to be tested without a Janus process).
/// </summary>
public interface IJanusClient
{
    /// <summary>Whether this node runs Janus at all (<c>Janus:Enabled</c>).</summary>
    bool Enabled { get; }

    /// <summary>True while a started Janus answers on its API session.</summary>
    bool IsReady { get; }

    /// <summary>Janus ended (crashed, or stopped answering): every handle of the session is gone.</summary>
    event Action<IJanusSession>? Lost;

    /// <summary>A handle's PeerConnection ended on the running Janus (or the handle was detached): its session and handle.</summary>
    event Action<IJanusSession, long>? HandleEnded;

    /// <summary>A handle's PeerConnection is up on the running Janus (<c>webrtcup</c>): its session and handle.</summary>
    event Action<IJanusSession, long>? HandleUp;

    /// <summary>The session of the running Janus, starting Janus first if it is not running yet; a <see cref="TimeoutException"/> when
    /// it does not come up in time.</summary>
    Task<IJanusSession> GetSessionAsync(CancellationToken cancellationToken);

    /// <summary>Starts Janus if it is not running, without waiting for it.</summary>
    void StartWithoutWaiting();
}

/// <summary>
/// One session on the running Janus: handles attached to plugins, messages to them and their answers. Each Janus run has
/// its own; a handle belongs to the session it was attached on. The plugins' requests are written in
/// <see cref="VideoRoomRequests"/> and <see cref="NoSipBridge"/>, never by the services.
/// </summary>
public interface IJanusSession
{
    long Id { get; }

    /// <summary>The key VideoRoom asks for to create rooms and RTP forwarders (the API secret of this run).</summary>
    string AdminKey { get; }

    /// <summary>Attaches a handle to <paramref name="plugin"/> (e.g. <c>janus.plugin.nosip</c>).</summary>
    Task<long> AttachAsync(string plugin, CancellationToken cancellationToken);

    /// <summary>
    /// Sends <paramref name="body"/> (and <paramref name="jsep"/>) to a handle's plugin and waits for its answer; throws
    /// <see cref="JanusApiException"/> when Janus or the plugin refused, or gave no answer within <paramref name="timeout"/>.
    /// </summary>
    Task<JanusPluginEvent> MessageAsync(long handle, JsonObject body, JsonObject? jsep, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Detaches a handle within 5 s, ignoring a Janus that is gone (its handles went with it).</summary>
    Task DetachQuietlyAsync(long handle);
}
