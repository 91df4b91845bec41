namespace Broadcast.Compositor.Engine;

/// <summary>
/// Who runs a channel's program on this node: the host keeps it beside each engine, the one table that says whose an
/// engine is, so neither owner takes over, changes or stops the other's.
/// </summary>
public enum ProgramOwner
{
    /// <summary>A program applied through the API (control's program service and its keeper).</summary>
    Api,

    /// <summary>A live room's show (<see cref="RoomPrograms"/>).</summary>
    Room,
}

/// <summary>The channel's program belongs to another owner here: nothing changed.</summary>
public sealed class ProgramOwnedException(ProgramOwner owner) : Exception(MessageFor(owner))
{
    /// <summary>Why the other owner may not have the channel's program while <paramref name="owner"/>'s runs.</summary>
    public static string MessageFor(ProgramOwner owner) => owner == ProgramOwner.Room
        ? "the channel's live room is on air: its show is the channel's program until the room empties"
        : "the channel runs a program set through the API; stop it (DELETE /api/channels/{id}/program) before the room goes on air";

    /// <summary>Whose the running program is.</summary>
    public ProgramOwner Owner { get; } = owner;
}
