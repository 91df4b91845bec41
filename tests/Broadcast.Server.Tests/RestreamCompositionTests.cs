using Broadcast.Control.Restream;
using Broadcast.Ingest.Restream;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Broadcast.Server.Tests;

public class RestreamCompositionTests
{
    [Fact]
    public async Task All_roles_run_the_restream_supervisor_and_report_destination_states_from_it()
    {
        await using var server = await InProcessServer.StartAsync();
        var supervisor = server.Services.GetRequiredService<RestreamSupervisor>();
        Assert.Contains(supervisor, server.Services.GetServices<IHostedService>());
        var status = server.Services.GetRequiredService<IDestinationLiveStatus>();
        Assert.IsNotType<NoDestinationLiveStatus>(status);
        Assert.Null(status.Get("no-such-destination"));
        await status.DestinationsChangedAsync("not-live", CancellationToken.None); // nothing live: a no-op, not an error
    }

    [Fact]
    public async Task A_control_only_node_stores_destinations_without_a_supervisor()
    {
        await using var server = await InProcessServer.StartAsync("--Roles=control");
        Assert.Null(server.Services.GetService<RestreamSupervisor>());
        Assert.IsType<NoDestinationLiveStatus>(server.Services.GetRequiredService<IDestinationLiveStatus>());
    }
}
