using Broadcast.Ingest.Pull;
using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Pull;

/// <summary>A gate that admits every pull (the gate's decisions are <c>Broadcast.Publish.Tests</c>').</summary>
internal sealed class TicketsForTests : IPullAdmission
{
    public static readonly TicketsForTests Instance = new();

    public Task<PublishTicket> AdmitAsync(string streamName, CancellationToken cancellationToken) =>
        Task.FromResult(PublishTickets.For(streamName));
}
