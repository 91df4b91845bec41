using Broadcast.Control.Delivery;
using Broadcast.Origin.Steering;

namespace Broadcast.Server;

/// <summary>The dashboard's pathway card reads and changes the origin's steering state through this.</summary>
internal sealed class SteeringDeliveryPathways(SteeringPathways pathways) : IDeliveryPathways
{
    public IReadOnlyList<DeliveryPathway> List() =>
        pathways.Statuses().Select(p => new DeliveryPathway(p.Id, p.BaseUrl, p.Weight, p.Drained, p.Healthy, p.LastStatus,
            p.LastLatencyMilliseconds, p.LastProbeAt, p.Viewers)).ToArray();

    public bool Change(string id, int? weight, bool? drained) => pathways.Override(id, weight, drained);
}
