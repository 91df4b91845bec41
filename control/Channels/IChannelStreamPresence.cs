namespace Broadcast.Control.Channels;

/// <summary>A broadcast on air on this node: its channel's slug and when its publish began.</summary>
public sealed record OnAirStream(string Slug, DateTimeOffset StartedAt);

/// <summary>
/// The live streams on this node, as control sees them; the pipeline implements it (server/, over the node's stream
/// registry). The channel leases ask which broadcasts still live here; event-window enforcement hears of each new one and
/// ends those whose publish no longer holds; an admin's or the schedule's "end" ends one.
/// </summary>
public interface IChannelStreamPresence
{
    /// <summary>Raised when a publisher starts a broadcast on this node (not when one resumes after a reconnect).</summary>
    event Action<OnAirStream>? Started;

    /// <summary>The broadcasts on air on this node, reconnect grace included.</summary>
    IReadOnlyCollection<OnAirStream> OnAir { get; }

    /// <summary>The channel's broadcast on this node, reconnect grace included; null when none.</summary>
    OnAirStream? Find(string slug);

    /// <summary>True while the channel's broadcast lives on this node, reconnect grace included.</summary>
    bool IsLive(string slug) => Find(slug) is not null;

    /// <summary>
    /// Ends the channel's broadcast on this node now: its readers drain, the packager writes the final manifests and the
    /// recording. False when none was on air here.
    /// </summary>
    bool End(string slug);
}

/// <summary>A node without a pipeline (control only): nothing is ever on air here.</summary>
internal sealed class NoStreamPresence : IChannelStreamPresence
{
    public event Action<OnAirStream>? Started
    {
        add { }
        remove { }
    }

    public IReadOnlyCollection<OnAirStream> OnAir => [];

    public OnAirStream? Find(string slug) => null;

    public bool End(string slug) => false;
}
