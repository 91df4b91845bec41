using Broadcast.Media;

namespace Broadcast.TestSupport;

/// <summary>
/// Tickets for tests that start a hub without the publish gate in front of it (a packager, a reader, a source under test):
/// the product's tickets come from <c>publish/PublishGate</c> alone, and this assembly is let in by the media assembly's
/// InternalsVisibleTo for the tests' sake (<c>PublishGateBoundaryTests</c> allows test assemblies and the gate only).
/// </summary>
public static class PublishTickets
{
    public static PublishTicket For(string name) => new(name);
}
