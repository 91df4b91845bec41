namespace Broadcast.Origin;

/// <summary>How many distinct clients watch a channel right now (owned by the origin, read by control/metrics).</summary>
public interface IViewerCounter
{
    /// <summary>Distinct clients (IP + User-Agent) that fetched a media playlist or segment of the channel recently.</summary>
    int GetViewers(string channel);
}
