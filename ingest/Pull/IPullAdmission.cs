using Broadcast.Media;

namespace Broadcast.Ingest.Pull;

/// <summary>
/// The publish gate's door for a pull (implemented in <c>publish/</c>): asked before each attempt's ffmpeg starts, so before
/// it can publish. A channel's pull is admitted with the continuation of a broadcast a dead node left within the reconnect
/// grace (as an encoder's publish); a program's feed into its host's own hub with nothing more. The ticket it returns is the
/// attempt's leave to start its publish.
/// </summary>
public interface IPullAdmission
{
    Task<PublishTicket> AdmitAsync(string streamName, CancellationToken cancellationToken);
}
