using Broadcast.Control.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests;

/// <summary>The lease keeper: renews live broadcasts, releases ended ones, and ends this node's copy when another node took it.</summary>
public sealed class ChannelLeasesTests
{
    private static readonly Channel Stage = new("c1", "Stage", "stage", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

    [Fact]
    public async Task A_node_that_lost_its_lease_ends_its_broadcast_and_one_that_ended_releases_it()
    {
        var repository = new ScriptedLeaseRepository();
        var presence = new StreamPresence { Live = { "stage" } };
        var leases = new ChannelLeases(repository, new ChannelLeaseOptions("me", TimeSpan.FromSeconds(15)), TimeProvider.System, presence,
            NullLogger<ChannelLeases>.Instance);

        Assert.Null(await leases.TryAcquireAsync(Stage, default));
        await leases.RenewOnceAsync(default);
        Assert.Equal(2, repository.Acquires);
        Assert.Empty(presence.Ended);

        // The database now says another node holds it (this node missed its renewals): this copy ends, once.
        repository.Holder = "other";
        await leases.RenewOnceAsync(default);
        await leases.RenewOnceAsync(default);
        Assert.Equal(["stage"], presence.Ended);

        // A refused publish names the holder and takes nothing.
        var refused = await leases.TryAcquireAsync(Stage, default);
        Assert.Equal("other", refused!.NodeId);

        // Held again, seen live, then the broadcast ends here: the next pass releases it.
        repository.Holder = null;
        Assert.Null(await leases.TryAcquireAsync(Stage, default));
        await leases.RenewOnceAsync(default);
        presence.Live.Clear();
        await leases.RenewOnceAsync(default);
        Assert.Equal(["c1"], repository.Released);
    }

    [Fact]
    public async Task A_lease_taken_a_moment_before_its_stream_registers_is_kept_and_one_whose_publish_never_came_is_released()
    {
        var repository = new ScriptedLeaseRepository();
        var presence = new StreamPresence();
        var clock = new Broadcast.TestSupport.ManualClock(DateTimeOffset.UnixEpoch);
        var leases = new ChannelLeases(repository, new ChannelLeaseOptions("me", TimeSpan.FromSeconds(6)), clock, presence,
            NullLogger<ChannelLeases>.Instance);

        // The publish is authorised (lease taken) and its stream is not in the registry yet when the keeper passes:
        // the lease is renewed, not released (a release let a backup node take a channel whose primary was on air).
        Assert.Null(await leases.TryAcquireAsync(Stage, default));
        clock.Advance(TimeSpan.FromSeconds(2));
        await leases.RenewOnceAsync(default);
        Assert.Empty(repository.Released);
        Assert.Equal(2, repository.Acquires);
        presence.Live.Add("stage");
        await leases.RenewOnceAsync(default);
        Assert.Empty(repository.Released);

        // A publish that took the lease and never went live (refused later) gives it back after one lease duration.
        var other = Stage with { Id = "c2", Slug = "other" };
        Assert.Null(await leases.TryAcquireAsync(other, default));
        clock.Advance(TimeSpan.FromSeconds(5));
        await leases.RenewOnceAsync(default);
        Assert.Empty(repository.Released);
        clock.Advance(TimeSpan.FromSeconds(1));
        await leases.RenewOnceAsync(default);
        Assert.Equal(["c2"], repository.Released);
    }

    [Theory]
    [InlineData("sqlite", null, "embedded")]
    [InlineData("sqlite", "edge-1", "edge-1")]
    [InlineData("postgres", "ingest-a", "ingest-a")]
    public void The_node_id_is_configured_or_fixed_on_the_embedded_database(string kind, string? configured, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Kind"] = kind,
            ["Ingest:NodeId"] = configured,
        }).Build();
        Assert.Equal(expected, ChannelLeaseOptions.From(configuration).NodeId);
    }

    [Fact]
    public void On_a_shared_database_each_process_is_its_own_holder_and_bad_durations_are_refused()
    {
        var shared = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Kind"] = "postgres" }).Build();
        Assert.NotEqual(ChannelLeaseOptions.From(shared).NodeId, ChannelLeaseOptions.From(shared).NodeId);
        Assert.Equal(TimeSpan.FromSeconds(15), ChannelLeaseOptions.From(shared).Duration);
        foreach (var bad in new[] { "2", "-5", "ten", "3601" })
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Ingest:LeaseSeconds"] = bad }).Build();
            Assert.Contains("Ingest:LeaseSeconds", Assert.Throws<InvalidOperationException>(() => ChannelLeaseOptions.From(configuration)).Message, StringComparison.Ordinal);
        }
    }

    /// <summary>A repository whose answer the test sets: the channel is held by <see cref="Holder"/>, or by whoever asks when null.</summary>
    private sealed class ScriptedLeaseRepository : IChannelLeaseRepository
    {
        public string? Holder { get; set; }

        public int Acquires { get; private set; }

        public List<string> Released { get; } = [];

        public Task<ChannelLease?> AcquireAsync(string channelId, string nodeId, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            Acquires++;
            return Task.FromResult<ChannelLease?>(new ChannelLease(channelId, Holder ?? nodeId, expiresAt));
        }

        public Task ReleaseAsync(string channelId, string nodeId, CancellationToken cancellationToken)
        {
            Released.Add(channelId);
            return Task.CompletedTask;
        }
    }

    private sealed class StreamPresence : IChannelStreamPresence
    {
        public HashSet<string> Live { get; } = [];

        public List<string> Ended { get; } = [];

        public event Action<OnAirStream>? Started
        {
            add { }
            remove { }
        }

        public IReadOnlyCollection<OnAirStream> OnAir => [.. Live.Select(slug => new OnAirStream(slug, DateTimeOffset.UnixEpoch))];

        public OnAirStream? Find(string slug) => Live.Contains(slug) ? new OnAirStream(slug, DateTimeOffset.UnixEpoch) : null;

        public bool End(string slug)
        {
            Ended.Add(slug);
            return Live.Contains(slug);
        }
    }
}
