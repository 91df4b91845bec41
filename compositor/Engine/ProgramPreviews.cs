using System.Buffers;
using System.Globalization;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Processes;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// The control room's view of a program's inputs, renewed about once a second: every live input (channel or room
/// participant) drawn into its own <see cref="TileWidth"/>×<see cref="TileHeight"/> tile of one contact sheet (a vertical
/// strip, in the program's input order; an input without a picture shows its placeholder card, as on air), made into a
/// JPEG by ffmpeg. The pictures are the ones the program composes from (its decoders' newest), so a preview costs a
/// small compose and one short ffmpeg run, never another decode. Drawn on the program loop's thread (<see cref="Draw"/>);
/// encoded off it (<see cref="EncodeAsync"/>), one at a time.
/// </summary>
public sealed class ProgramPreviews : IDisposable
{
    /// <summary>A tile's size: 16:9, big enough to judge framing and focus.</summary>
    public const int TileWidth = 320, TileHeight = 180;

    private static readonly TimeSpan EncodeTimeout = TimeSpan.FromSeconds(5);
    private readonly FrameCompositor _compositor = new();
    private readonly string _ffmpegPath;
    private Yuv420Frame? _sheet;
    private LayoutPlan? _plan;
    private string _planKey = "";
    private Task _encoding = Task.CompletedTask;
    private volatile ProgramPreview? _latest;

    public ProgramPreviews(string ffmpegPath) => _ffmpegPath = ffmpegPath;

    /// <summary>The newest sheet; null before the first.</summary>
    public ProgramPreview? Latest => _latest;

    /// <summary>Why the last sheet could not be made (ffmpeg missing, failed or too slow); null after a good one.</summary>
    public string? LastError { get; private set; }

    /// <summary>Whether the previous sheet is still being encoded (then this second's is skipped).</summary>
    public bool Busy => !_encoding.IsCompleted;

    /// <summary>
    /// Draws the inputs <paramref name="inputIds"/> (in tile order) from <paramref name="sources"/> into the sheet and
    /// starts its encoding; returns false, drawing nothing, while the previous one is still being encoded.
    /// </summary>
    public bool Draw(IReadOnlyList<string> inputIds, CompositionSources sources, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(sources);
        if (Busy || inputIds.Count == 0) return false;
        // Planned again when the inputs, or which of them have a picture and at what size, changed (planning allocates).
        string key = PlanKey(inputIds, sources);
        if (_plan is null || key != _planKey)
        {
            _planKey = key;
            _plan = Plan(inputIds, sources);
            if (_sheet is null || _sheet.Height != _plan.Canvas.Height)
            {
                _sheet?.Dispose();
                _sheet = new Yuv420Frame(_plan.Canvas.Width, _plan.Canvas.Height);
            }
        }
        _compositor.Compose(_sheet!, _plan, sources);
        int length = _sheet!.ByteLength;
        var raw = ArrayPool<byte>.Shared.Rent(length);
        _sheet.CopyTo(raw);
        var size = _sheet.Size;
        string[] order = [.. inputIds];
        _encoding = Task.Run(async () =>
        {
            try
            {
                var (jpeg, error) = await EncodeAsync(_ffmpegPath, raw.AsMemory(0, length), size, CancellationToken.None)
                    .ConfigureAwait(false);
                if (jpeg is not null) _latest = new ProgramPreview(jpeg, order, TileWidth, TileHeight, at);
                LastError = error;
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
            {
                // ffmpeg could not be started or its pipes broke: the program goes on, the next second tries again.
                LastError = ex.Message;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        });
        return true;
    }

    /// <summary>Waits for the sheet being encoded, if any (tests; disposal).</summary>
    public Task Encoding => _encoding;

    private static string PlanKey(IReadOnlyList<string> inputIds, CompositionSources sources)
    {
        var key = new System.Text.StringBuilder();
        foreach (string id in inputIds)
        {
            key.Append(id).Append('=');
            if (sources.Frames.TryGetValue(id, out var picture)) key.Append(picture.Width).Append('x').Append(picture.Height);
            key.Append(';');
        }
        return key.ToString();
    }

    /// <summary>A free layout of one tile per input, top to bottom, each picture fitted (letterboxed) into its tile.</summary>
    internal static LayoutPlan Plan(IReadOnlyList<string> inputIds, CompositionSources sources)
    {
        var inputs = new List<LayoutInput>(inputIds.Count);
        var sizes = new Dictionary<string, PixelSize?>(StringComparer.Ordinal);
        for (int i = 0; i < inputIds.Count; i++)
        {
            inputs.Add(new LayoutInput(inputIds[i], FitMode.Fit, new PixelRect(0, i * TileHeight, TileWidth, TileHeight)));
            sizes[inputIds[i]] = sources.Frames.TryGetValue(inputIds[i], out var picture) ? picture.Size : null;
        }
        return LayoutPlanner.Plan(new ProgramLayout(LayoutKind.Free, inputs), new PixelSize(TileWidth, TileHeight * inputIds.Count), sizes);
    }

    /// <summary>ffmpeg's arguments for one raw <c>yuv420p</c> picture of <paramref name="size"/> on stdin to one JPEG on stdout.</summary>
    public static IReadOnlyList<string> Arguments(PixelSize size) =>
    [
        "-hide_banner", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
        "-s", string.Create(CultureInfo.InvariantCulture, $"{size.Width}x{size.Height}"), "-i", "pipe:0",
        "-frames:v", "1", "-q:v", "5", "-f", "image2pipe", "-c:v", "mjpeg", "pipe:1",
    ];

    /// <summary>The JPEG of one raw picture, or null with the reason when ffmpeg failed or ran past its bound.</summary>
    public static async Task<(byte[]? Jpeg, string? Error)> EncodeAsync(string ffmpegPath, ReadOnlyMemory<byte> yuv420p, PixelSize size,
        CancellationToken cancellationToken)
    {
        var run = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpegPath, Arguments(size)), EncodeTimeout, cancellationToken, yuv420p)
            .ConfigureAwait(false);
        if (run.TimedOut) return (null, $"ffmpeg ran past {EncodeTimeout.TotalSeconds:0} s");
        // A JPEG starts with SOI (FF D8).
        return run.Succeeded && run.Stdout.Length > 2 && run.Stdout[0] == 0xFF && run.Stdout[1] == 0xD8
            ? (run.Stdout, null)
            : (null, $"ffmpeg exited {run.ExitCode}: {run.Stderr.Trim()}");
    }

    public void Dispose()
    {
        try { _encoding.Wait(EncodeTimeout); }
        catch (AggregateException) { }
        _sheet?.Dispose();
    }
}

/// <summary>
/// One preview sheet: a JPEG of <see cref="Inputs"/>.Count tiles of <see cref="TileWidth"/>×<see cref="TileHeight"/>, top to
/// bottom in the order of <see cref="Inputs"/> (input ids), drawn at <see cref="At"/>.
/// </summary>
public sealed record ProgramPreview(byte[] Jpeg, IReadOnlyList<string> Inputs, int TileWidth, int TileHeight, DateTimeOffset At);
