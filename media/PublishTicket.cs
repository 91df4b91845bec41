namespace Broadcast.Media;

/// <summary>
/// Leave to start one publish of <see cref="Name"/> on a <see cref="LiveStreamRegistry"/>: the registry starts no publish
/// without one. Only the publish gate (<c>publish/PublishGate</c>, through this assembly's InternalsVisibleTo) makes them,
/// after its checks for the source's kind, so every source that writes a hub has passed the gate; the compiler keeps it so
/// (<c>PublishGateBoundaryTests</c>).
/// </summary>
public sealed class PublishTicket
{
    internal PublishTicket(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>The hub's name the publish may take (a channel's slug; a relayed channel; a program's feed).</summary>
    public string Name { get; }

    public override string ToString() => Name;
}
