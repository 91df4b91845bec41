namespace Broadcast.Media.Tests;

public class ConcurrentObjectPoolTests
{
    [Fact]
    public void Rents_the_object_returned_last_and_null_when_empty()
    {
        var pool = new ConcurrentObjectPool<object>(4);
        Assert.Null(pool.Rent());
        object a = new(), b = new();
        pool.Return(a);
        pool.Return(b);
        Assert.Same(b, pool.Rent());
        Assert.Same(a, pool.Rent());
        Assert.Null(pool.Rent());
    }

    [Fact]
    public void A_full_pool_keeps_no_more_than_its_size()
    {
        var pool = new ConcurrentObjectPool<object>(3);
        for (int i = 0; i < 10; i++) pool.Return(new object());
        Assert.Equal(3, pool.Count);
        for (int i = 0; i < 3; i++) Assert.NotNull(pool.Rent());
        Assert.Null(pool.Rent());
    }

    [Fact]
    public async Task Threads_renting_and_returning_at_once_never_share_an_object()
    {
        // Each object carries a flag a renter sets and clears: two renters holding one object at once would see it set.
        var pool = new ConcurrentObjectPool<Holder>(64);
        for (int i = 0; i < 32; i++) pool.Return(new Holder());
        int shared = 0;
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (int i = 0; i < 200_000; i++)
            {
                var holder = pool.Rent() ?? new Holder();
                if (Interlocked.Exchange(ref holder.InUse, 1) != 0) Interlocked.Increment(ref shared);
                Volatile.Write(ref holder.InUse, 0);
                pool.Return(holder);
            }
        })).ToArray();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(0, shared);
        Assert.InRange(pool.Count, 32, 64);
    }

    private sealed class Holder
    {
        public int InUse;
    }
}
