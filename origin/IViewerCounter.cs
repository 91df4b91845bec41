namespace Broadcast.Origin;

/// <summary>How many distinct clients watch a channel right now (owned by the origin, read by control/metrics).</summary>
public interface IViewerCounter
{
    /// <summary>Distinct clients (IP + User-Agent) that fetched a media playlist or segment of the channel recently.</summary>
    int GetViewers(string channel);

    /// <summary>Channels this node has counted clients for (some may have none left in the window).</summary>
    IReadOnlyCollection<string> Channels => [];
}
