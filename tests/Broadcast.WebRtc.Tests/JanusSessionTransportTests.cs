using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Tests.Fakes;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// What a broken transport does to a request on Janus's HTTP API: a <see cref="JanusTransportException"/> (a
/// <see cref="JanusApiException"/>) naming what went wrong, never a bare HTTP or JSON exception; the caller's own
/// cancellation stays a cancellation.
/// </summary>
public sealed class JanusSessionTransportTests
{
    private static readonly Uri Api = new("http://127.0.0.1:8088/janus/");

    [Theory]
    [InlineData(JanusTransportFault.Unreachable, "unreachable")]
    [InlineData(JanusTransportFault.NotJson, "not a JSON object")]
    [InlineData(JanusTransportFault.Silent, "did not answer within 0.5 s")]
    public async Task A_transport_fault_is_a_janus_transport_exception(JanusTransportFault fault, string says)
    {
        using var http = new HttpClient(new FaultyJanusHttp(fault)) { Timeout = TimeSpan.FromMilliseconds(500) };
        await using var session = await JanusSession.CreateAsync(http, Api, "secret", CancellationToken.None);

        var attach = await Assert.ThrowsAsync<JanusTransportException>(() => session.AttachAsync(NoSipBridge.Plugin, CancellationToken.None));
        Assert.Contains(says, attach.Message, StringComparison.Ordinal);
        Assert.NotNull(attach.InnerException);
        await Assert.ThrowsAsync<JanusTransportException>(() =>
            session.MessageAsync(1, new() { ["request"] = "generate" }, null, TimeSpan.FromSeconds(5), CancellationToken.None));
        await session.DetachQuietlyAsync(1); // a Janus that is gone has nothing to detach
    }

    [Fact]
    public async Task The_callers_cancellation_is_not_a_transport_fault()
    {
        using var http = new HttpClient(new FaultyJanusHttp(JanusTransportFault.Silent));
        await using var session = await JanusSession.CreateAsync(http, Api, "secret", CancellationToken.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));

        var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.AttachAsync(NoSipBridge.Plugin, cancel.Token));
        Assert.IsNotType<JanusTransportException>(e.InnerException);
    }
}
