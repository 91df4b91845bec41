using System.Buffers.Binary;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Compositor.Tests.Fuzzing;

/// <summary>
/// Layouts arrive from API callers: any layout, however wrong, is either refused with a <see cref="LayoutException"/>
/// or planned into tiles that lie on the canvas, even-aligned, and that the compositor draws without fault. The fuzz
/// input is read as a layout description (kind, inputs with fit, rectangle and z, inset settings, overlays).
/// </summary>
public sealed class LayoutFuzzTests : IDisposable
{
    private static readonly PixelSize[] CanvasSizes = [new(64, 36), new(128, 72), new(48, 48)];
    private static readonly string[] Ids = ["a", "b", "c", "gone", "logo", "unknown", ""];

    private readonly Yuv420Frame[] _canvases = CanvasSizes.Select(s => new Yuv420Frame(s.Width, s.Height)).ToArray();
    private readonly CompositionSources _sources = new();
    private readonly Dictionary<string, PixelSize?> _sizes = new();
    private readonly FrameCompositor _compositor = new();
    private readonly ITestOutputHelper _output;

    public LayoutFuzzTests(ITestOutputHelper output)
    {
        _output = output;
        Add("a", 64, 36);
        Add("b", 30, 50);
        Add("c", 2, 2);
        _sizes["gone"] = null;
        var logo = new Yuva420Image(20, 10);
        logo.Picture.Fill(235, 128, 128);
        logo.Alpha.Fill(128);
        _sources.Images["logo"] = logo;
        _sizes["logo"] = new PixelSize(20, 10);
    }

    public void Dispose()
    {
        foreach (var canvas in _canvases) canvas.Dispose();
        foreach (var frame in _sources.Frames.Values) frame.Dispose();
        foreach (var image in _sources.Images.Values) image.Dispose();
    }

    [Fact]
    public void Any_layout_is_refused_cleanly_or_planned_onto_the_canvas_and_drawn()
    {
        byte[][] seeds =
        [
            [0, 1, 0, 0],
            [1, 2, 0, 0, 1, 1, 3, 0, 0, 250, 0, 10, 0],
            [2, 2, 0, 0, 1, 1],
            [3, 4, 0, 0, 1, 1, 2, 0, 3, 1],
            [4, 2, 0, 0, 2, 0, 2, 0, 40, 0, 20, 0, 5, 1, 1, 0, 0, 0, 0, 64, 0, 36, 0, 1, 1, 4, 0, 4, 0, 20, 0, 10, 0],
        ];
        var report = FuzzRunner.Run("layout", seeds, (input, _) =>
        {
            var canvas = _canvases[input.Length == 0 ? 0 : input[0] / 8 % _canvases.Length];
            ProgramLayout layout = Read(input);
            LayoutPlan plan;
            try
            {
                plan = LayoutPlanner.Plan(layout, canvas.Size, _sizes);
            }
            catch (LayoutException)
            {
                return false;
            }

            foreach (var tile in plan.Tiles)
            {
                foreach (var rect in new[] { tile.Cell, tile.Content })
                {
                    if (!rect.LiesWithin(canvas.Size) || ((rect.X | rect.Y | rect.Width | rect.Height) & 1) != 0)
                        throw new InvalidOperationException($"{tile.SourceId}: {rect} off the {canvas.Size} canvas or not even");
                }
            }

            _compositor.Compose(canvas, plan, _sources);
            return true;
        }, new FuzzOptions { MaxInputLength = 256 });
        _output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }

    /// <summary>Reads bytes as a layout; any byte string gives one (missing bytes read as zero).</summary>
    private static ProgramLayout Read(byte[] input)
    {
        int at = 0;
        byte Byte() => at < input.Length ? input[at++] : (byte)0;
        short Short()
        {
            short value = at + 2 <= input.Length ? BinaryPrimitives.ReadInt16LittleEndian(input.AsSpan(at)) : (short)0;
            at += 2;
            return value;
        }

        var kind = (LayoutKind)(Byte() % 6);
        int count = Byte() % 7;
        var inputs = new List<LayoutInput>();
        for (int i = 0; i < count; i++)
        {
            string id = Ids[Byte() % Ids.Length];
            var fit = (FitMode)(Byte() % 3);
            PixelRect? rect = Byte() % 4 == 0 ? null : new PixelRect(Short(), Short(), Short(), Short());
            inputs.Add(new LayoutInput(id, fit, rect, (sbyte)Byte()));
        }

        var overlays = new List<LayoutOverlay>();
        for (int i = Byte() % 3; i > 0; i--) overlays.Add(new LayoutOverlay(Ids[Byte() % Ids.Length], new PixelRect(Short(), Short(), Short(), Short())));
        return new ProgramLayout(kind, inputs)
        {
            InsetCorner = (Corner)(Byte() % 5),
            InsetWidthPerMille = Short(),
            InsetMargin = Short(),
            Overlays = overlays,
        };
    }

    private void Add(string id, int width, int height)
    {
        var frame = new Yuv420Frame(width, height);
        frame.Fill(81, 90, 240);
        _sources.Frames[id] = frame;
        _sizes[id] = frame.Size;
    }
}
