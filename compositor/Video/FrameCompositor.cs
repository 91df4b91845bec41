using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Video;

/// <summary>
/// Draws a planned layout onto the program canvas: video black everywhere, then each tile in plan order (inputs by
/// z, overlays last). A fitted picture's cell is painted black first (its bars), an input without a picture is a dark
/// placeholder card, an image input in a tile and overlays are blended with their alpha. Scaling is <see cref="PlaneScaler"/>'s integer resampling
/// (bilinear up, area down);
/// nothing is allocated per frame once the scratch buffers have grown to the largest overlay.
/// </summary>
/// <remarks>
/// A fade between two layouts is a cross-fade of whole compositions, not per-tile opacity: the program composes the
/// outgoing plan and the incoming plan each onto a canvas and <see cref="CrossFade"/> blends them by the frame's
/// position in the fade. It costs a second composition during the fade only, and it fades anything into anything
/// (tiles that move, resize, appear or leave) with one rule and no per-tile state.
/// </remarks>
public sealed class FrameCompositor
{
    /// <summary>The placeholder card's luma: a dark grey, visibly not black so an operator sees the tile is there.</summary>
    public const byte PlaceholderLuma = 32;

    // One scaler for luma-sized planes (luma, alpha) and one for chroma, so each keeps its taps from tile to tile and
    // frame to frame while the sizes stay (side by side: every tile's luma is the same resize, every tile's chroma too).
    private readonly PlaneScaler _luma = new(), _chroma = new();
    private byte[] _alpha = [];

    public void Compose(Yuv420Frame canvas, LayoutPlan plan, CompositionSources sources)
    {
        ArgumentNullException.ThrowIfNull(canvas);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(sources);
        if (canvas.Size != plan.Canvas) throw new ArgumentException($"the plan is for a {plan.Canvas} canvas, not {canvas.Size}", nameof(canvas));
        canvas.Fill(Yuv420Frame.BlackLuma, Yuv420Frame.NeutralChroma, Yuv420Frame.NeutralChroma);
        var tiles = plan.Tiles;
        for (int i = 0; i < tiles.Count; i++)
        {
            var tile = tiles[i];
            if (tile.Kind == TileKind.Overlay)
            {
                if (sources.Images.TryGetValue(tile.SourceId, out var image) && Covers(image.Picture, tile.Crop)) DrawWithAlpha(canvas, image,
                    tile.Crop, tile.Content);
            }
            else if (!tile.IsPlaceholder && sources.Frames.TryGetValue(tile.SourceId, out var frame) && Covers(frame, tile.Crop))
            {
                if (tile.Content != tile.Cell) Paint(canvas, tile.Cell, Yuv420Frame.BlackLuma);
                Draw(canvas, frame, tile.Crop, tile.Content);
            }
            else if (!tile.IsPlaceholder && sources.Images.TryGetValue(tile.SourceId, out var still) && Covers(still.Picture, tile.Crop))
            {
                // An image as a tile (a slate, a card filling its cell): drawn with its alpha over the cell's black.
                Paint(canvas, tile.Cell, Yuv420Frame.BlackLuma);
                DrawWithAlpha(canvas, still, tile.Crop, tile.Content);
            }
            else
            {
                Paint(canvas, tile.Cell, PlaceholderLuma);
                if (sources.PlaceholderCards.TryGetValue(tile.SourceId, out var card) && FitCentred(card, tile.Cell) is { IsEmpty: false } place)
                    DrawWithAlpha(canvas, card, new PixelRect(0, 0, card.Width, card.Height), place);
            }
        }
    }

    /// <summary>
    /// Where a name card goes in its cell: as large as fits with the card's own shape, centred, on the chroma grid, so a
    /// name keeps its proportions in a tall free-placement cell as in a wide one.
    /// </summary>
    internal static PixelRect FitCentred(Yuva420Image card, PixelRect cell)
    {
        long byWidth = (long)cell.Width * card.Height, byHeight = (long)cell.Height * card.Width;
        int width = byWidth <= byHeight ? cell.Width : (int)(byHeight / card.Height);
        int height = byWidth <= byHeight ? (int)(byWidth / card.Width) : cell.Height;
        return new PixelRect(cell.X + ((cell.Width - width) / 2), cell.Y + ((cell.Height - height) / 2), width, height).AlignedEven();
    }

    /// <summary>A frame whose size no longer matches its plan (the plan is replanned when a source's size changes) draws as a placeholder
    /// meanwhile.</summary>
    private static bool Covers(Yuv420Frame frame, PixelRect crop) => !crop.IsEmpty && crop.Right <= frame.Width && crop.Bottom <= frame.Height;

    private static void Paint(Yuv420Frame canvas, PixelRect rect, byte luma)
    {
        PlaneScaler.Fill(canvas.Y, canvas.Width, rect, luma);
        var chroma = Half(rect);
        PlaneScaler.Fill(canvas.U, canvas.ChromaWidth, chroma, Yuv420Frame.NeutralChroma);
        PlaneScaler.Fill(canvas.V, canvas.ChromaWidth, chroma, Yuv420Frame.NeutralChroma);
    }

    private void Draw(Yuv420Frame canvas, Yuv420Frame source, PixelRect crop, PixelRect target)
    {
        _luma.Scale(source.Y, source.Width, crop, canvas.Y, canvas.Width, target);
        _chroma.Scale(source.U, source.ChromaWidth, Half(crop), canvas.U, canvas.ChromaWidth, Half(target));
        _chroma.Scale(source.V, source.ChromaWidth, Half(crop), canvas.V, canvas.ChromaWidth, Half(target));
    }

    /// <summary>
    /// The alpha plane is scaled to the target once, at luma resolution; luma blends with it pixel for pixel and each
    /// chroma sample with the mean alpha of its 2×2 luma block.
    /// </summary>
    private void DrawWithAlpha(Yuv420Frame canvas, Yuva420Image image, PixelRect crop, PixelRect target)
    {
        int size = target.Width * target.Height;
        if (_alpha.Length < size) _alpha = new byte[size];
        var alpha = _alpha.AsSpan(0, size);
        _luma.Scale(image.Alpha, image.Width, crop, alpha, target.Width, new PixelRect(0, 0, target.Width, target.Height));
        var picture = image.Picture;
        _luma.Scale(picture.Y, picture.Width, crop, canvas.Y, canvas.Width, target, alpha, target.Width, 1);
        _chroma.Scale(picture.U, picture.ChromaWidth, Half(crop), canvas.U, canvas.ChromaWidth, Half(target), alpha, target.Width, 2);
        _chroma.Scale(picture.V, picture.ChromaWidth, Half(crop), canvas.V, canvas.ChromaWidth, Half(target), alpha, target.Width, 2);
    }

    private static PixelRect Half(PixelRect rect) => new(rect.X / 2, rect.Y / 2, rect.Width / 2, rect.Height / 2);
}

/// <summary>The blend of two compositions during a layout fade (see <see cref="FrameCompositor"/>'s remarks).</summary>
public static class CrossFade
{
    /// <summary>
    /// Writes frame <paramref name="step"/> of a fade of <paramref name="steps"/> frames from <paramref name="from"/>
    /// to <paramref name="to"/> into <paramref name="into"/> (which may be either of them): step 0 is all
    /// <paramref name="from"/>, step <paramref name="steps"/> all <paramref name="to"/>, in 1/256ths between.
    /// </summary>
    public static void Blend(Yuv420Frame from, Yuv420Frame to, int step, int steps, Yuv420Frame into)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        ArgumentNullException.ThrowIfNull(into);
        if (steps <= 0 || step < 0 || step > steps) throw new ArgumentOutOfRangeException(nameof(step), $"step {step} of {steps}");
        if (from.Size != to.Size || from.Size != into.Size) throw new ArgumentException($"sizes differ: {from.Size}, {to.Size}, {into.Size}",
            nameof(into));
        int weight = (int)(256L * step / steps);
        for (int plane = 0; plane < 3; plane++) PlaneScaler.Blend(from.Plane(plane), to.Plane(plane), weight, into.Plane(plane));
    }
}
