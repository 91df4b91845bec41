namespace Broadcast.TestSupport;

/// <summary>Measures managed allocations of the current thread for "this hot path allocates nothing" tests.</summary>
public static class Allocations
{
    /// <summary>
    /// The fewest bytes <paramref name="work"/> allocated on this thread in any of <paramref name="windows"/> runs. A
    /// per-frame allocation shows in every run; a one-off does not fail the test: a shared pool refilling a buffer it
    /// trimmed after a collection, or the runtime recompiling a method. One such miss is one 4 KiB array.
    /// </summary>
    public static long LeastOf(int windows, Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        long least = long.MaxValue;
        for (int i = 0; i < windows; i++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            work();
            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        return least;
    }
}
