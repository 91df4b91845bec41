namespace Broadcast.Control.Security;

/// <summary>
/// Failed password checks per account name: <see cref="MaxFailures"/> within <see cref="Window"/> refuse that name's
/// password sign-ins for <see cref="Block"/>, from every address. The per-address limiter alone let a guesser with an
/// IPv6 /64, or a few hundred addresses, try a password list against one account at full speed. Names are counted
/// whether or not such an account exists (a lockout that only known names reach would tell which exist); at most
/// <see cref="MaxTrackedNames"/> names are tracked at once and expired state is swept, so random names cannot grow it.
/// A lockout is a nuisance an attacker can cause, which is why it ends by itself and the admin token (the API's bearer)
/// still works meanwhile.
/// </summary>
public sealed class AccountSignInGuard(TimeProvider time)
{
    public const int MaxFailures = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan Block = TimeSpan.FromMinutes(15);
    public const int MaxTrackedNames = 10_000;

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private DateTimeOffset _nextSweep;

    private sealed class Entry
    {
        public DateTimeOffset WindowStart;
        public int Failures;
        public DateTimeOffset BlockedUntil;
    }

    /// <summary>Names with state now (for tests: random names must not leave state behind for long).</summary>
    public int TrackedNames
    {
        get
        {
            lock (_gate) return _entries.Count;
        }
    }

    /// <summary>True while <paramref name="name"/>'s password sign-ins are refused; <paramref name="remaining"/> says for how long.</summary>
    public bool IsLocked(string? name, out TimeSpan remaining)
    {
        remaining = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(name)) return false;
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (!_entries.TryGetValue(name.Trim(), out var entry) || entry.BlockedUntil <= now) return false;
            remaining = entry.BlockedUntil - now;
            return true;
        }
    }

    /// <summary>Counts a wrong password for <paramref name="name"/>; true when this failure locked it.</summary>
    public bool RecordFailure(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return false;
        var now = time.GetUtcNow();
        lock (_gate)
        {
            Sweep(now);
            string key = name.Trim();
            if (!_entries.TryGetValue(key, out var entry))
            {
                if (_entries.Count >= MaxTrackedNames) return false;
                entry = new Entry { WindowStart = now };
                _entries[key] = entry;
            }
            if (now - entry.WindowStart >= Window)
            {
                entry.WindowStart = now;
                entry.Failures = 0;
            }
            if (++entry.Failures < MaxFailures || entry.BlockedUntil > now) return false;
            entry.BlockedUntil = now + Block;
            entry.Failures = 0;
            entry.WindowStart = now;
            return true;
        }
    }

    /// <summary>A right password: the name's failures are forgotten.</summary>
    public void RecordSuccess(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return;
        lock (_gate) _entries.Remove(name.Trim());
    }

    private void Sweep(DateTimeOffset now)
    {
        if (now < _nextSweep) return;
        _nextSweep = now + TimeSpan.FromSeconds(30);
        foreach (var (key, entry) in _entries.ToArray())
            if (entry.BlockedUntil <= now && now - entry.WindowStart >= Window) _entries.Remove(key);
    }
}
