using Broadcast.Control.Security;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Security;

public sealed class AccountSignInGuardTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 5, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Ten_failures_within_the_window_lock_the_name_for_the_block_and_then_it_is_free_again()
    {
        var clock = new ManualClock(Start);
        var guard = new AccountSignInGuard(clock);
        for (int i = 1; i < AccountSignInGuard.MaxFailures; i++) Assert.False(guard.RecordFailure("admin"));
        Assert.False(guard.IsLocked("admin", out _));
        Assert.True(guard.RecordFailure(" Admin ")); // names compare as accounts do: trimmed, any case
        Assert.True(guard.IsLocked("ADMIN", out var left));
        Assert.Equal(AccountSignInGuard.Block, left);
        Assert.False(guard.IsLocked("other", out _));

        clock.Advance(AccountSignInGuard.Block);
        Assert.False(guard.IsLocked("admin", out _));
        Assert.False(guard.RecordFailure("admin")); // counting starts again
    }

    [Fact]
    public void Failures_spread_wider_than_the_window_never_lock_and_a_success_forgets_them()
    {
        var clock = new ManualClock(Start);
        var guard = new AccountSignInGuard(clock);
        for (int i = 0; i < 3 * AccountSignInGuard.MaxFailures; i++)
        {
            Assert.False(guard.RecordFailure("admin"));
            clock.Advance(AccountSignInGuard.Window / (AccountSignInGuard.MaxFailures - 1) * 1.01);
        }
        for (int i = 1; i < AccountSignInGuard.MaxFailures; i++) guard.RecordFailure("moderator");
        guard.RecordSuccess("moderator");
        Assert.False(guard.RecordFailure("moderator"));
        Assert.False(guard.IsLocked("moderator", out _));
    }

    [Fact]
    public void Random_names_are_bounded_and_swept()
    {
        var clock = new ManualClock(Start);
        var guard = new AccountSignInGuard(clock);
        for (int i = 0; i < AccountSignInGuard.MaxTrackedNames + 500; i++) guard.RecordFailure("name-" + i);
        Assert.Equal(AccountSignInGuard.MaxTrackedNames, guard.TrackedNames);
        clock.Advance(AccountSignInGuard.Window + TimeSpan.FromMinutes(1));
        guard.RecordFailure("after");
        Assert.Equal(1, guard.TrackedNames);
    }
}
