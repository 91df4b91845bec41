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
        Assert.Equal((1, 1), (repository.Acquires, repository.Renewals));
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
        Assert.Equal((1, 1), (repository.Acquires, repository.Renewals));
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

    [Fact]
    public async Task A_pass_renews_every_held_lease_in_one_call_and_looks_one_by_one_only_at_those_it_did_not_find_held()
    {
        var repository = new ScriptedLeaseRepository();
        var presence = new StreamPresence();
        var leases = new ChannelLeases(repository, new ChannelLeaseOptions("me", TimeSpan.FromSeconds(15)), TimeProvider.System, presence,
            NullLogger<ChannelLeases>.Instance);
        for (int i = 0; i < 50; i++)
        {
            Assert.Null(await leases.TryAcquireAsync(Stage with { Id = $"c{i}", Slug = $"s{i}" }, default));
            presence.Live.Add($"s{i}");
        }

        await leases.RenewOnceAsync(default);
        Assert.Equal((50, 1), (repository.Acquires, repository.Renewals));
        Assert.Equal(50, repository.LastRenewed.Count);

        // Another node took one (this node missed its renewals): only that one is asked about, and its copy ends.
        repository.TakenBy["c7"] = "other";
        await leases.RenewOnceAsync(default);
        Assert.Equal((51, 2), (repository.Acquires, repository.Renewals));
        Assert.Equal(["s7"], presence.Ended);
        await leases.RenewOnceAsync(default);
        Assert.Equal((51, 3), (repository.Acquires, repository.Renewals));
        Assert.Equal(49, repository.LastRenewed.Count);

        // The database is away for a pass: nothing ends, and the next pass renews them all.
        repository.Failing = true;
        await leases.RenewOnceAsync(default);
        repository.Failing = false;
        await leases.RenewOnceAsync(default);
        Assert.Equal(49, repository.LastRenewed.Count);
        Assert.Equal(["s7"], presence.Ended);
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

        /// <summary>Channels another node holds, whatever <see cref="Holder"/> says.</summary>
        public Dictionary<string, string> TakenBy { get; } = [];

        public bool Failing { get; set; }

        public int Acquires { get; private set; }

        public int Renewals { get; private set; }

        public IReadOnlyCollection<string> LastRenewed { get; private set; } = [];

        public List<string> Released { get; } = [];

        public Task<ChannelLease?> AcquireAsync(string channelId, string nodeId, DateTimeOffset now, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            Acquires++;
            return Task.FromResult<ChannelLease?>(new ChannelLease(channelId, HolderOf(channelId) ?? nodeId, expiresAt));
        }

        public Task<IReadOnlySet<string>> RenewHeldAsync(IReadOnlyCollection<string> channelIds, string nodeId, DateTimeOffset expiresAt,
            CancellationToken cancellationToken)
        {
            if (Failing) throw new TimeoutException("the database did not answer");
            Renewals++;
            var held = channelIds.Where(id => (HolderOf(id) ?? nodeId) == nodeId).ToHashSet(StringComparer.Ordinal);
            LastRenewed = held;
            return Task.FromResult<IReadOnlySet<string>>(held);
        }

        private string? HolderOf(string channelId) => TakenBy.TryGetValue(channelId, out var node) ? node : Holder;

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
