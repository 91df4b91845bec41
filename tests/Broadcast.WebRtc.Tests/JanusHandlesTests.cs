using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Tests.Fakes;

namespace Broadcast.WebRtc.Tests;

/// <summary>The one handle tracker of the room and WHEP: a handle is known by its Janus run and number, and a lost run takes only its own.</summary>
public sealed class JanusHandlesTests
{
    [Fact]
    public async Task A_handle_is_found_by_its_run_and_number_and_a_lost_run_gives_back_only_its_own()
    {
        var janus = new FakeJanus();
        var first = await janus.GetSessionAsync(CancellationToken.None);
        janus.Crash();
        var second = await janus.GetSessionAsync(CancellationToken.None);
        var handles = new JanusHandles<string>();

        handles.Track(first, 7, "viewer on the first run");
        handles.Track(second, 7, "viewer on the second run");
        handles.Track(second, 8, "another on the second run");
        Assert.Equal("viewer on the first run", handles.Find(first, 7));
        Assert.Equal("viewer on the second run", handles.Find(second, 7));
        Assert.Null(handles.Find(first, 8));

        Assert.Equal(["viewer on the first run"], handles.ForgetAllOf(first));
        Assert.Null(handles.Find(first, 7));
        Assert.Equal(2, handles.Count);

        Assert.True(handles.Forget(second, 8));
        Assert.False(handles.Forget(second, 8));
        Assert.Equal(["viewer on the second run"], handles.ForgetAllOf(second));
        Assert.Equal(0, handles.Count);
    }
}
