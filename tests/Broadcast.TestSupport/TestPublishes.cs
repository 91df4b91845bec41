using Broadcast.TestSupport;

// In the registry's namespace so that every test that starts a hub by its name reads as it did before the start needed
// a ticket: the gate is the product's concern, and tests of a hub's readers are not about it.
namespace Broadcast.Media;

/// <summary>Starts a hub by name in a test, with a ticket of <see cref="PublishTickets"/>.</summary>
public static class TestPublishes
{
    public static bool TryStartPublish(this LiveStreamRegistry registry, string name, out LiveStream stream) =>
        registry.TryStartPublish(PublishTickets.For(name), out stream);

    public static bool TryStartPublish(this LiveStreamRegistry registry, string name, TimeSpan takeoverAfterSilence, out LiveStream stream) =>
        registry.TryStartPublish(PublishTickets.For(name), takeoverAfterSilence, out stream, out _);

    public static bool TryStartPublish(this LiveStreamRegistry registry, string name, TimeSpan takeoverAfterSilence, out LiveStream stream,
        out bool tookOver, string? protocol = null) =>
        registry.TryStartPublish(PublishTickets.For(name), takeoverAfterSilence, out stream, out tookOver, protocol);
}
