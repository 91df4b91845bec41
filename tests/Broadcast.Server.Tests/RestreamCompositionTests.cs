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
    public async Task The_supervisor_reads_each_destination_as_stored_multitrack_included()
    {
        await using var server = await InProcessServer.StartAsync("--Outbound:AllowedNetworks=127.0.0.0/8");
        var channel = await server.CreateChannelAsync("Restream adapter");
        var destinations = server.Services.GetRequiredService<DestinationService>();
        var plain = await destinations.CreateAsync(channel.Id, new DestinationSpec("rtmp://127.0.0.1:19350/live", "plain-key-1234", null, true, null));
        var multitrack = await destinations.CreateAsync(channel.Id, new DestinationSpec("rtmp://127.0.0.1:19351/live", "multi-key-5678", false, null, true));

        var source = server.Services.GetRequiredService<IRestreamDestinationSource>();
        var read = await source.GetDestinationsAsync(new Broadcast.Media.LiveStream(channel.Slug), CancellationToken.None);

        Assert.Equal(new RestreamDestination(plain!.Id, "rtmp://127.0.0.1:19350/live", "plain-key-1234", Enabled: true,
            AllowUntrustedCertificate: true, Multitrack: false), read.Single(d => d.Id == plain.Id));
        Assert.Equal(new RestreamDestination(multitrack!.Id, "rtmp://127.0.0.1:19351/live", "multi-key-5678", Enabled: false,
            AllowUntrustedCertificate: false, Multitrack: true), read.Single(d => d.Id == multitrack.Id));
    }

    [Fact]
    public async Task A_control_only_node_stores_destinations_without_a_supervisor()
    {
        await using var server = await InProcessServer.StartAsync("--Roles=control");
        Assert.Null(server.Services.GetService<RestreamSupervisor>());
        Assert.IsType<NoDestinationLiveStatus>(server.Services.GetRequiredService<IDestinationLiveStatus>());
    }
}
