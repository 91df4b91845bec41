using Broadcast.Origin.Protection;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.TestSupport;

namespace Broadcast.Origin.Tests.Protection;

/// <summary>The license's key cache: found keys kept a minute per channel, invented KIDs never kept, the table capped.</summary>
public sealed class CachedContentKeysTests
{
    private static KeyId Id(int n) => new((UInt128)n + 1);

    /// <summary>A store that knows every KID of "ch" (key bytes from the KID) and counts what it is asked.</summary>
    private sealed class EveryKidStore : IContentKeys
    {
        public int Lookups { get; private set; }

        public int KidsAsked { get; private set; }

        public ValueTask<IReadOnlyList<ContentKey>> FindAsync(string channel, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken)
        {
            Lookups++;
            KidsAsked += keyIds.Count;
            return ValueTask.FromResult<IReadOnlyList<ContentKey>>(channel == "ch"
                ? keyIds.Select(id => new ContentKey(id, new byte[16])).ToList()
                : []);
        }
    }

    [Fact]
    public async Task A_found_key_is_kept_a_minute_and_then_read_again()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var store = new EveryKidStore();
        var cache = new CachedContentKeys(store, clock);
        Assert.Single(await cache.FindAsync("ch", [Id(1)], default));
        Assert.Single(await cache.FindAsync("ch", [Id(1)], default));
        Assert.Equal(1, store.Lookups);

        // Only the KID not yet kept is asked for.
        Assert.Equal(2, (await cache.FindAsync("ch", [Id(1), Id(2)], default)).Count);
        Assert.Equal(2, store.KidsAsked);

        clock.Advance(CachedContentKeys.Lifetime);
        Assert.Single(await cache.FindAsync("ch", [Id(1)], default));
        Assert.Equal(3, store.Lookups);
    }

    [Fact]
    public async Task Another_channel_and_unknown_kids_are_never_kept()
    {
        var store = new EveryKidStore();
        var cache = new CachedContentKeys(store, new ManualClock(DateTimeOffset.UnixEpoch));
        for (int i = 0; i < 100; i++) Assert.Empty(await cache.FindAsync("other", [Id(i)], default));
        Assert.Equal(0, cache.Count);
        Assert.Equal(100, store.Lookups);

        // A key kept for "ch" is not answered for another channel.
        await cache.FindAsync("ch", [Id(1)], default);
        Assert.Empty(await cache.FindAsync("other", [Id(1)], default));
    }

    [Fact]
    public async Task Past_the_cap_keys_are_answered_but_not_kept_until_the_kept_ones_expire()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var cache = new CachedContentKeys(new EveryKidStore(), clock);
        for (int i = 0; i < CachedContentKeys.MaxEntries + 50; i++) Assert.Single(await cache.FindAsync("ch", [Id(i)], default));
        Assert.Equal(CachedContentKeys.MaxEntries, cache.Count);

        clock.Advance(CachedContentKeys.Lifetime);
        Assert.Single(await cache.FindAsync("ch", [Id(CachedContentKeys.MaxEntries + 100)], default));
        Assert.Equal(1, cache.Count);
    }
}
