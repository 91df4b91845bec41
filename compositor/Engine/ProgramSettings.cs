using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Engine;

/// <summary>A program's fixed output: canvas, frame rate, and the ffmpeg that decodes and encodes for it.</summary>
public sealed record ProgramSettings(string FfmpegPath, PixelSize Canvas, ProgramClock Clock)
{
    /// <summary>Frames a layout fade lasts (8 at 30 fps: about a quarter second).</summary>
    public int FadeFrames { get; init; } = 8;

    public int VideoKilobits { get; init; } = 3000;

    /// <summary>
    /// How long a change of inputs waits for a new channel input that is on air to deliver its first picture before the
    /// change goes on air, so the cut lands on the picture rather than on its placeholder (starting a decoder takes
    /// about half a second). A channel that is not on air is not waited for; a feed just opened is (it is starting).
    /// </summary>
    public TimeSpan InputPreroll { get; init; } = TimeSpan.FromSeconds(3);
}

/// <summary>
/// A program input decoded from a hub: another channel of this server, by its stream name, or (with <paramref name="Hub"/>)
/// a feed the program host keeps in a hub of its own (see <see cref="Inputs.IProgramFeeds"/>). Null: the node's channels.
/// </summary>
public sealed record ChannelInput(string Id, string Channel, Broadcast.Media.LiveStreamRegistry? Hub = null);

/// <summary>How a layout change reaches the picture.</summary>
public enum LayoutTransition
{
    /// <summary>The next frame shows the new layout.</summary>
    Cut,

    /// <summary>A cross-fade of the whole composition over <see cref="ProgramSettings.FadeFrames"/>.</summary>
    Fade,
}

/// <summary>What a program is doing now.</summary>
/// <param name="InputsPresent">Per input id, whether it delivers pictures (false: its placeholder is drawn).</param>
/// <param name="FramesComposed">Program frames composed so far.</param>
/// <param name="FramesLate">Frames repeated instead of composed because the loop was late.</param>
/// <param name="IntegratedLoudness">The program's integrated loudness (LUFS, BS.1770), null until measurable.</param>
/// <param name="EncoderRestarts">Times the encoder's ffmpeg was restarted after a failure.</param>
/// <param name="EncoderFramesDropped">Frames the encoder was too far behind to take.</param>
/// <param name="ComposeMicroseconds">Mean time to compose one frame.</param>
/// <param name="EncoderLagMilliseconds">How far the hub's newest frame trails the frame being composed (the encoder's delay),
/// null before the first.</param>
public sealed record ProgramStatus(
    IReadOnlyDictionary<string, bool> InputsPresent,
    long FramesComposed,
    long FramesLate,
    double? IntegratedLoudness,
    int EncoderRestarts,
    long EncoderFramesDropped,
    double ComposeMicroseconds,
    long? EncoderLagMilliseconds);

/// <summary>
/// The settings a change swaps in at once: a layout with the per-input mix, over a set of inputs.
/// <see cref="PreviousInputsReleased"/> completes once the loop no longer reads the inputs this scene's set replaced (at
/// once on a cut, after the fade on a fade); scenes over the same set share it, so a scene the loop never saw still
/// lets its inputs go.
/// </summary>
internal sealed record ProgramScene(ProgramLayout Layout, IReadOnlyDictionary<string, MixSettings> Mix, LayoutTransition Transition, long Version,
    ProgramInputs Inputs, TaskCompletionSource PreviousInputsReleased);

/// <summary>
/// What a program composes: its decoded inputs (channels, RTP places), its still images, and the name cards its decoded
/// inputs' placeholders show (see <see cref="Inputs.NameCard"/>; an input without one shows the plain dark tile).
/// </summary>
internal sealed record ProgramInputs(IReadOnlyList<Inputs.InputDecoder> Decoders, IReadOnlyDictionary<string, Video.Yuva420Image> Images,
    IReadOnlyDictionary<string, Video.Yuva420Image> Cards)
{
    public bool Has(string id) => Images.ContainsKey(id) || Decoders.Any(d => d.InputId == id);
}

/// <summary>A program's level meters at <paramref name="At"/>: each input's peak (dBFS, null for silence) and the program bus's.</summary>
public sealed record ProgramLevels(IReadOnlyDictionary<string, double?> Inputs, double? Program, DateTimeOffset At);
