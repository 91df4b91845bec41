namespace Broadcast.Control.Programs;

/// <summary>
/// Body of <c>PUT /api/channels/{id}/program</c>, and the document stored for the channel: the whole program, every
/// change a replacement. Inputs are other channels (by id or slug), URLs or media-library files, or still images; the layout places them; audio sets
/// each input's gain, mute and solo (inputs not named play at 0 dB); transition is how the change reaches the picture.
/// </summary>
public sealed record ProgramRequest(List<ProgramInputRequest>? Inputs, ProgramLayoutRequest? Layout, Dictionary<string, ProgramAudioRequest>? Audio,
    string? Transition);

/// <summary>
/// Body of <c>PATCH /api/channels/{id}/program</c>: what is given replaces that part of the running program, the inputs
/// (and their images) stay. The dashboard's control room sends these.
/// </summary>
public sealed record ProgramPatchRequest(ProgramLayoutRequest? Layout, Dictionary<string, ProgramAudioRequest>? Audio, string? Transition);

/// <summary>
/// One input: exactly one of <see cref="Channel"/> (another channel's id or slug), <see cref="Image"/> and
/// <see cref="Source"/> (a URL or a media-library file, pulled by the node that runs the program).
/// <see cref="Label"/> is the name a channel or source input's placeholder shows while it has no picture (default: the
/// channel's name; a source's file name or host).
/// </summary>
public sealed record ProgramInputRequest(string? Id, string? Channel, ProgramImageRequest? Image, string? Label = null,
    ProgramSourceRequest? Source = null);

/// <summary>
/// A source input: <see cref="Url"/> as a channel's pull source takes it (rtmp://, rtmps://, srt://, http(s):// HLS, or
/// <c>file:NAME</c> under <c>Pull:MediaRoot</c>) and under the same outbound policy; a file plays at its own pace, once
/// (then the input is away) or with <see cref="Loop"/> over and over.
/// </summary>
public sealed record ProgramSourceRequest(string? Url, bool? Loop = null, bool? AllowUntrustedCertificate = null);

/// <summary>A PNG or JPEG (base64), decoded once at <see cref="Width"/>×<see cref="Height"/> (even, at most the canvas).</summary>
public sealed record ProgramImageRequest(string? Data, int? Width, int? Height);

/// <summary>
/// kind: single | pip | side-by-side | grid | free. inputs: the tiles in order (pip: main then inset; free: each with its
/// rect and z). pip only: insetCorner (top-left | top-right | bottom-left | bottom-right, default bottom-right),
/// insetWidthPerMille (1–1000, default 300), insetMargin (pixels, default 32). overlays: images on top, in order.
/// </summary>
public sealed record ProgramLayoutRequest(string? Kind, List<ProgramTileRequest>? Inputs, string? InsetCorner = null, int? InsetWidthPerMille = null,
    int? InsetMargin = null, List<ProgramOverlayRequest>? Overlays = null);

/// <summary>A tile: the input's id, fit (fit | fill, default fit) and, in a free layout, its rectangle and z-order.</summary>
public sealed record ProgramTileRequest(string? Id, string? Fit = null, ProgramRect? Rect = null, int? Z = null);

/// <summary>An image input drawn over everything at <see cref="Rect"/>, with its alpha.</summary>
public sealed record ProgramOverlayRequest(string? Id, ProgramRect? Rect);

/// <summary>A rectangle on the program canvas, in pixels.</summary>
public sealed record ProgramRect(int X, int Y, int Width, int Height);

/// <summary>An input's place on the mixing desk: gain in dB (up to +24), mute, solo.</summary>
public sealed record ProgramAudioRequest(double? GainDb = null, bool? Muted = null, bool? Solo = null);

/// <summary>The program as it runs: what was set, and the engine's view of it.</summary>
/// <param name="Running">Whether this node's compositor is producing the program now.</param>
/// <param name="Engine">The engine's counters, while it runs.</param>
public sealed record ProgramResponse(string ChannelId, bool Running, List<ProgramInputState> Inputs, ProgramLayoutRequest Layout,
    Dictionary<string, ProgramAudioRequest> Audio, string Transition, string UpdatedBy, DateTimeOffset UpdatedAt, ProgramEngineState? Engine);

/// <summary>
/// An input as the program sees it: present is false while it delivers no picture (its placeholder is shown, with
/// <see cref="Label"/> on it for a channel or source input).
/// </summary>
public sealed record ProgramInputState(string Id, string? Channel, string? ChannelSlug, ProgramImageSize? Image, bool Present, string? Label = null,
    ProgramSourceState? Source = null);

/// <summary>
/// A source input: what was set, and while the program runs where its pull stands (<see cref="State"/>: starting, live,
/// retrying, failed, stopped; <see cref="Reason"/> why, e.g. "the source played to its end").
/// </summary>
public sealed record ProgramSourceState(string Url, bool Loop, bool AllowUntrustedCertificate, string? State, string? Reason);

public sealed record ProgramImageSize(int Width, int Height);

/// <summary>
/// The engine's counters: frames composed and repeated for lateness, the program's integrated loudness (LUFS, null until
/// measurable); <see cref="StartedAt"/> is when the program's broadcast began (changing its inputs keeps it; stopping the program ends it).
/// </summary>
public sealed record ProgramEngineState(int Width, int Height, long FramesComposed, long FramesLate, double? IntegratedLoudness, int EncoderRestarts,
    long? EncoderLagMilliseconds, DateTimeOffset StartedAt);
