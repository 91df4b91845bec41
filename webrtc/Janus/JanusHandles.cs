namespace Broadcast.WebRtc.Janus;

/// <summary>
/// What each Janus handle of a service is for (a WHEP session, a room participant, a subscription), found in one step
/// when Janus says a handle came up or ended, and all of a run's at once when that Janus is lost. Handles are numbered
/// per session, so a handle is known by its session and number. Thread-safe; it never calls out while locked, so an owner
/// may call it under its own lock.
/// </summary>
internal sealed class JanusHandles<T>
    where T : class
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(IJanusSession Session, long Handle), T> _owners = [];

    public int Count
    {
        get
        {
            lock (_gate) return _owners.Count;
        }
    }

    /// <summary>Notes that <paramref name="handle"/> of <paramref name="session"/> is <paramref name="owner"/>'s.</summary>
    public void Track(IJanusSession session, long handle, T owner)
    {
        lock (_gate) _owners[(session, handle)] = owner;
    }

    /// <summary>Forgets the handle; false when it was not tracked (or already forgotten).</summary>
    public bool Forget(IJanusSession session, long handle)
    {
        lock (_gate) return _owners.Remove((session, handle));
    }

    /// <summary>Whose the handle is, or null.</summary>
    public T? Find(IJanusSession session, long handle)
    {
        lock (_gate) return _owners.GetValueOrDefault((session, handle));
    }

    /// <summary>Janus <paramref name="session"/> is gone: forgets all its handles and returns their owners.</summary>
    public List<T> ForgetAllOf(IJanusSession session)
    {
        lock (_gate)
        {
            var lost = new List<T>();
            foreach (var (key, owner) in _owners)
            {
                // Removing the entry just enumerated is allowed while enumerating a Dictionary (.NET Core 3.0 on).
                if (key.Session == session && _owners.Remove(key)) lost.Add(owner);
            }

            return lost;
        }
    }
}
