namespace Broadcast.Control.Delivery;

/// <summary>
/// One delivery path of the show (a CDN or an edge fleet) as the dashboard shows it: content steering's pathway, with
/// the steering server's view of it on this node.
/// </summary>
public sealed record DeliveryPathway(string Id, string BaseUrl, int Weight, bool Drained, bool Healthy, int LastStatus,
    long LastProbeMilliseconds, DateTimeOffset? LastProbeAt, long Viewers);

/// <summary>
/// The content-steering pathways this node steers players between, and the operator's changes to them. Registered by the
/// server where steering is configured; absent otherwise (the dashboard then shows no pathway card).
/// </summary>
public interface IDeliveryPathways
{
    IReadOnlyList<DeliveryPathway> List();

    /// <summary>A new weight and/or drain for a pathway; false when there is no such pathway.</summary>
    bool Change(string id, int? weight, bool? drained);
}
