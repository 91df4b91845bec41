using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Layouts;
using Broadcast.TestSupport;

namespace Broadcast.Compositor.Tests.Engine;

/// <summary>
/// The compositor's starts with the ticket the publish gate would have handed out: these tests are about programs, and the
/// gate's decisions are <c>Broadcast.Publish.Tests</c>'.
/// </summary>
internal static class GateTickets
{
    public static Task<ProgramEngine> ApplyAsync(this ProgramHost host, string channel, ProgramOwner owner, IReadOnlyList<ProgramInputSource> inputs,
        ProgramLayout layout, IReadOnlyDictionary<string, MixSettings> mix, LayoutTransition transition, CancellationToken cancellationToken) =>
        host.ApplyAsync(channel, owner, inputs, layout, mix, transition, host.Find(channel) is null ? PublishTickets.For(channel) : null, cancellationToken);

    public static Task<IReadOnlyDictionary<string, RtpPorts>> UpdateAsync(this RoomPrograms rooms, string channel, IReadOnlyList<RoomMember> members,
        CancellationToken cancellationToken) =>
        rooms.UpdateAsync(channel, members, PublishTickets.For(channel), cancellationToken);

    public static void Start(this ProgramEngine engine, string channel) => engine.Start(PublishTickets.For(channel));
}
