namespace Broadcast.Control.Tests.Chat;

/// <summary>A clock that moves only when told, wall time and timestamps alike (the rate limiter reads timestamps).</summary>
internal sealed class ChatTestClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks;

    public override DateTimeOffset GetUtcNow() => start.AddTicks(Interlocked.Read(ref _ticks));

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
