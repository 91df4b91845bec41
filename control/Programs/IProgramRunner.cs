namespace Broadcast.Control.Programs;

/// <summary>A checked program, its channel inputs resolved to the stream names (slugs) the pipeline knows them by.</summary>
public sealed record ProgramPlan(string Slug, IReadOnlyList<ProgramSource> Inputs, ProgramLayoutRequest Layout,
    IReadOnlyDictionary<string, ProgramAudioRequest> Audio, string Transition);

/// <summary>
/// An input of a plan: a channel's stream (<see cref="ChannelSlug"/>), an image (<see cref="Image"/>, PNG or JPEG bytes) or a
/// source the node pulls (<see cref="Pull"/>).
/// </summary>
public sealed record ProgramSource(string Id, string? ChannelSlug, byte[]? Image, int Width, int Height, string? Label = null)
{
    public ProgramPull? Pull { get; init; }
}

/// <summary>A checked source input: the URL (or <c>file:NAME</c>), whether it loops, whether an untrusted certificate is accepted.</summary>
public sealed record ProgramPull(string Url, bool Loop, bool AllowUntrustedCertificate);

/// <summary>Where a source input's pull stands (starting, live, retrying, failed, stopped) and why.</summary>
public sealed record ProgramPullStatus(string State, string? Reason);

/// <summary>What the compositor reports of a running program; <see cref="StartedAt"/> is when its broadcast began
/// (stopping and starting the program begins another).</summary>
public sealed record ProgramRunState(IReadOnlyDictionary<string, bool> InputsPresent, int Width, int Height, long FramesComposed, long FramesLate,
    double? IntegratedLoudness, int EncoderRestarts, long? EncoderLagMilliseconds, DateTimeOffset StartedAt)
{
    /// <summary>Each source input's pull, by input id.</summary>
    public IReadOnlyDictionary<string, ProgramPullStatus> Pulls { get; init; } = new Dictionary<string, ProgramPullStatus>();
}

/// <summary>
/// A program's inputs as the control room previews them: a JPEG of one <paramref name="TileWidth"/>×<paramref name="TileHeight"/>
/// tile per input, top to bottom in the order of <paramref name="Inputs"/> (input ids), drawn at <paramref name="At"/>.
/// </summary>
public sealed record ProgramInputsPreview(byte[] Jpeg, IReadOnlyList<string> Inputs, int TileWidth, int TileHeight, DateTimeOffset At);

/// <summary>
/// A program's level meters: each input's own level (before its fader and mute) and the program bus's, as peaks of the
/// last 300 ms in dBFS, null for silence.
/// </summary>
public sealed record ProgramLevelsResponse(IReadOnlyDictionary<string, double?> Inputs, double? Program, DateTimeOffset At);

/// <summary>
/// Runs programs on this node; the server implements it with the compositor's engine, publishing each program into its
/// channel's hub. <see cref="ApplyAsync"/> starts a program or changes a running one (the same inputs: the layout and
/// mix swap in live; other inputs: they change on air, the broadcast goes on) and answers with the state that took effect.
/// </summary>
public interface IProgramRunner
{
    /// <summary>False on a node that runs no programs (no ingest role).</summary>
    bool RunsPrograms { get; }

    /// <exception cref="ValidationFailedException">The layout cannot be drawn (the field named as in the request,
    /// e.g. <c>layout.inputs[1].rect</c>).</exception>
    /// <exception cref="ConflictException">The channel is on air from another input (an encoder, a pull).</exception>
    /// <exception cref="ValidationFailedException">A source input cannot be pulled on this node (<c>inputs[i].source</c>).</exception>
    Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken);

    ProgramRunState? Status(string slug);

    /// <summary>
    /// The newest preview of the inputs of the channel's program running here, or null; asking keeps the sheets coming
    /// (about once a second, for a few seconds after the last ask): a program nobody previews draws none.
    /// </summary>
    ProgramInputsPreview? Preview(string slug);

    /// <summary>The level meters of the channel's program running here, or null.</summary>
    ProgramLevelsResponse? Levels(string slug);

    /// <summary>The channels (slugs) whose programs this runner started and that run here now (a room's program is not one).</summary>
    IReadOnlyCollection<string> Running { get; }

    /// <summary>Stops the channel's program; false when none runs.</summary>
    Task<bool> StopAsync(string slug);

    /// <summary>A program this runner started had its broadcast ended from outside (and stopped): the channel's slug.</summary>
    event Action<string>? Ended;
}

/// <summary>A node without the pipeline: programs are stored, none runs here.</summary>
internal sealed class NoProgramRunner : IProgramRunner
{
    public bool RunsPrograms => false;

    public Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken) =>
        throw new ConflictException("This node runs no programs (it has no ingest role).");

    public ProgramRunState? Status(string slug) => null;

    public ProgramInputsPreview? Preview(string slug) => null;

    public ProgramLevelsResponse? Levels(string slug) => null;

    public IReadOnlyCollection<string> Running => [];

    public Task<bool> StopAsync(string slug) => Task.FromResult(false);

    public event Action<string>? Ended
    {
        add { }
        remove { }
    }
}
