using System.Collections.Concurrent;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Tests.Persistence;

/// <summary>Row ids: UUID version 7 whose ordinal order is the order they were made in (RFC 9562 §5.7, §6.2).</summary>
public sealed class RowIdTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 28, 23, 0, 0, 123, TimeSpan.Zero);

    [Fact]
    public void Ids_are_version_7_with_the_millisecond_asked_for_in_32_lowercase_hex_digits()
    {
        var guid = RowId.NewGuid(At);
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2); // RFC 9562 §4.1: the variant's bits are 10x
        string id = guid.ToString("N");
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(At.ToUnixTimeMilliseconds(), Convert.ToInt64(id[..12], 16));
        Assert.Equal('7', RowId.New(At)[12]);
    }

    [Fact]
    public void Ids_made_in_one_millisecond_sort_in_the_order_they_were_made()
    {
        var ids = Enumerable.Range(0, 10_000).Select(_ => RowId.New(At)).ToList();
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Fact]
    public void Other_milliseconds_asked_for_in_between_do_not_break_the_order_within_one()
    {
        // Another thread's clock read earlier, or a test's clock: the ids of one millisecond still rise.
        var ids = new List<string>();
        for (int i = 0; i < 1000; i++)
        {
            ids.Add(RowId.New(At));
            RowId.New(At.AddMilliseconds(i % 2 == 0 ? -1 : 1));
            RowId.New(At.AddDays(-30));
        }

        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_later_millisecond_sorts_after_an_earlier_one_and_ids_from_many_threads_are_unique()
    {
        Assert.True(string.CompareOrdinal(RowId.New(At.AddMilliseconds(1)), RowId.New(At)) > 0);
        Assert.True(string.CompareOrdinal(RowId.New(At), RowId.New(At.AddMilliseconds(-1))) > 0);

        var seen = new ConcurrentDictionary<string, byte>();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            for (int i = 0; i < 5_000; i++) Assert.True(seen.TryAdd(RowId.New(At), 0));
        });
        Assert.Equal(40_000, seen.Count);
    }

    [Fact]
    public void A_time_before_1970_is_refused()
        => Assert.Throws<ArgumentOutOfRangeException>(() => RowId.New(DateTimeOffset.UnixEpoch.AddMilliseconds(-1)));
}
