namespace Broadcast.Compositor.Layouts;

/// <summary>
/// Turns a layout, the canvas size and each source's current picture size into tile placements. Pure and
/// deterministic: the same inputs give the same plan, so a layout change is a new plan swapped in between two frames.
/// </summary>
public static class LayoutPlanner
{
    /// <summary>The most inputs a grid shows (2×2).</summary>
    public const int MaxGridInputs = 4;

    /// <summary>
    /// Plans <paramref name="layout"/> on <paramref name="canvas"/>. <paramref name="sources"/> holds every input and
    /// image the program has: its picture size, or null while it delivers none (the tile becomes its placeholder).
    /// A layout naming a source the program does not have, or a rectangle off the canvas, throws
    /// <see cref="LayoutException"/> naming the field.
    /// </summary>
    public static LayoutPlan Plan(ProgramLayout layout, PixelSize canvas, IReadOnlyDictionary<string, PixelSize?> sources)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(sources);
        if (canvas.Width <= 0 || canvas.Height <= 0 || canvas.Width % 2 != 0 || canvas.Height % 2 != 0)
            throw new LayoutException("canvas", $"{canvas} must be positive and even in both dimensions (4:2:0)");
        if (layout.Inputs is null) throw new LayoutException("inputs", "missing");

        var cells = Cells(layout, canvas);
        var tiles = new List<TilePlacement>(cells.Length + layout.Overlays.Count);
        for (int i = 0; i < cells.Length; i++)
        {
            var input = layout.Inputs[i];
            var size = SourceSize(sources, input?.InputId, $"inputs[{i}].id");
            tiles.Add(Place(TileKind.Input, input!.InputId, cells[i].Cell, size, input.Fit, cells[i].Z, $"inputs[{i}]"));
        }

        // Stable: equal z keeps the layout's order.
        var ordered = tiles.OrderBy(t => t.Z).ToList();
        int overlayZ = ordered.Count == 0 ? 0 : ordered[^1].Z + 1;
        for (int i = 0; i < layout.Overlays.Count; i++)
        {
            var overlay = layout.Overlays[i];
            string field = $"overlays[{i}]";
            if (overlay is null) throw new LayoutException(field, "missing");
            var size = SourceSize(sources, overlay.ImageId, field + ".id");
            var rect = CheckedRect(overlay.Rect, canvas, field + ".rect");
            var tile = Place(TileKind.Overlay, overlay.ImageId, rect, size, FitMode.Fit, overlayZ + i, field);
            // An image with no picture yet has nothing to show: an overlay never leaves a placeholder card.
            if (!tile.Crop.IsEmpty) ordered.Add(tile);
        }

        return new LayoutPlan(canvas, ordered);
    }

    private static (PixelRect Cell, int Z)[] Cells(ProgramLayout layout, PixelSize canvas)
    {
        int count = layout.Inputs.Count;
        switch (layout.Kind)
        {
            case LayoutKind.Single:
                RequireCount(count, 1, 1, "single");
                return [(new PixelRect(0, 0, canvas.Width, canvas.Height), 0)];
            case LayoutKind.SideBySide:
                RequireCount(count, 2, 2, "side-by-side");
                return Grid(canvas, columns: 2, rows: 1, count);
            case LayoutKind.Grid:
                RequireCount(count, 1, MaxGridInputs, "grid");
                return count switch
                {
                    1 => Grid(canvas, 1, 1, count),
                    2 => Grid(canvas, 2, 1, count),
                    _ => Grid(canvas, 2, 2, count),
                };
            case LayoutKind.PictureInPicture:
                RequireCount(count, 2, 2, "picture-in-picture");
                return [(new PixelRect(0, 0, canvas.Width, canvas.Height), 0), (Inset(layout, canvas), 1)];
            case LayoutKind.Free:
                if (count == 0) throw new LayoutException("inputs", "a free layout needs at least one input");
                var cells = new (PixelRect, int)[count];
                for (int i = 0; i < count; i++)
                {
                    var input = layout.Inputs[i] ?? throw new LayoutException($"inputs[{i}]", "missing");
                    if (input.Rect is not { } rect) throw new LayoutException($"inputs[{i}].rect", "a free layout needs a rectangle for every input");
                    cells[i] = (CheckedRect(rect, canvas, $"inputs[{i}].rect"), input.Z);
                }

                return cells;
            default:
                throw new LayoutException("kind", $"unknown layout kind {(int)layout.Kind}");
        }
    }

    private static void RequireCount(int count, int least, int most, string kind)
    {
        if (count < least || count > most)
        {
            string wanted = least == most ? $"exactly {least}" : $"{least} to {most}";
            throw new LayoutException("inputs", $"a {kind} layout takes {wanted} input{(most == 1 ? "" : "s")}, not {count}");
        }
    }

    /// <summary>Equal cells row by row; the split points are even so every cell is 4:2:0 aligned,
    /// the last column and row take the remainder.</summary>
    private static (PixelRect, int)[] Grid(PixelSize canvas, int columns, int rows, int count)
    {
        var cells = new (PixelRect, int)[count];
        for (int i = 0; i < count; i++)
        {
            int column = i % columns, row = i / columns;
            int left = canvas.Width * column / columns & ~1, right = canvas.Width * (column + 1) / columns & ~1;
            int top = canvas.Height * row / rows & ~1, bottom = canvas.Height * (row + 1) / rows & ~1;
            cells[i] = (new PixelRect(left, top, right - left, bottom - top), 0);
        }

        return cells;
    }

    /// <summary>The inset: its width a share of the canvas width, the canvas's aspect, in its corner at the margin.</summary>
    private static PixelRect Inset(ProgramLayout layout, PixelSize canvas)
    {
        if (!Enum.IsDefined(layout.InsetCorner)) throw new LayoutException("insetCorner", $"unknown corner {(int)layout.InsetCorner}");
        if (layout.InsetWidthPerMille is <= 0 or > 1000)
            throw new LayoutException("insetWidthPerMille", $"{layout.InsetWidthPerMille} is outside 1–1000");
        if (layout.InsetMargin < 0) throw new LayoutException("insetMargin", $"{layout.InsetMargin} is negative");
        int width = (int)((long)canvas.Width * layout.InsetWidthPerMille / 1000) & ~1;
        int height = (int)((long)width * canvas.Height / canvas.Width) & ~1;
        if (width <= 0 || height <= 0) throw new LayoutException("insetWidthPerMille",
            $"{layout.InsetWidthPerMille}‰ of {canvas.Width} px leaves no inset");
        int margin = layout.InsetMargin & ~1;
        if (width + margin > canvas.Width || height + margin > canvas.Height)
            throw new LayoutException("insetMargin",
                $"an inset of {width}x{height} with a margin of {layout.InsetMargin} px leaves the {canvas} canvas");
        int x = layout.InsetCorner is Corner.TopLeft or Corner.BottomLeft ? margin : canvas.Width - margin - width;
        int y = layout.InsetCorner is Corner.TopLeft or Corner.TopRight ? margin : canvas.Height - margin - height;
        return new PixelRect(x, y, width, height);
    }

    private static PixelRect CheckedRect(PixelRect rect, PixelSize canvas, string field)
    {
        if (rect.Width <= 0 || rect.Height <= 0) throw new LayoutException(field, $"size {rect.Width}x{rect.Height} must be positive");
        if (!rect.LiesWithin(canvas)) throw new LayoutException(field, $"{rect} lies outside the {canvas} canvas");
        var aligned = rect.AlignedEven();
        if (aligned.IsEmpty) throw new LayoutException(field, $"{rect} is smaller than one 2x2 chroma block");
        return aligned;
    }

    private static PixelSize? SourceSize(IReadOnlyDictionary<string, PixelSize?> sources, string? id, string field)
    {
        if (string.IsNullOrEmpty(id)) throw new LayoutException(field, "missing");
        if (!sources.TryGetValue(id, out var size)) throw new LayoutException(field, $"unknown source '{id}'");
        if (size is { } s && (s.Width < 2 || s.Height < 2 || s.Width % 2 != 0 || s.Height % 2 != 0))
            throw new LayoutException(field, $"source '{id}' has size {s}; pictures are even-sized 4:2:0, at least 2x2");
        return size;
    }

    private static TilePlacement Place(TileKind kind, string id, PixelRect cell, PixelSize? source, FitMode fit, int z, string field)
    {
        if (source is not { } size) return new TilePlacement(kind, id, cell, cell, default, z);
        if (!Enum.IsDefined(fit)) throw new LayoutException(field + ".fit", $"unknown fit {(int)fit}");
        var full = new PixelRect(0, 0, size.Width, size.Height);
        // Compare aspects by cross-multiplying: source wider than the cell when sw/sh > cw/ch.
        long sourceSpan = (long)size.Width * cell.Height, cellSpan = (long)cell.Width * size.Height;
        if (sourceSpan == cellSpan) return new TilePlacement(kind, id, cell, cell, full, z);
        bool sourceWider = sourceSpan > cellSpan;
        if (fit == FitMode.Fit)
        {
            // Letterbox (wider source) or pillarbox: the whole picture, centred, even-aligned; at least one chroma block.
            int width = sourceWider ? cell.Width : Math.Max(2, (int)((long)cell.Height * size.Width / size.Height) & ~1);
            int height = sourceWider ? Math.Max(2, (int)((long)cell.Width * size.Height / size.Width) & ~1) : cell.Height;
            int x = cell.X + ((cell.Width - width) / 2 & ~1), y = cell.Y + ((cell.Height - height) / 2 & ~1);
            return new TilePlacement(kind, id, cell, new PixelRect(x, y, width, height), full, z);
        }

        // Fill: crop the overhang of the source equally on both sides, even-aligned.
        int cropWidth = sourceWider ? Math.Max(2, (int)((long)size.Height * cell.Width / cell.Height) & ~1) : size.Width;
        int cropHeight = sourceWider ? size.Height : Math.Max(2, (int)((long)size.Width * cell.Height / cell.Width) & ~1);
        var crop = new PixelRect((size.Width - cropWidth) / 2 & ~1, (size.Height - cropHeight) / 2 & ~1, cropWidth, cropHeight);
        return new TilePlacement(kind, id, cell, cell, crop, z);
    }
}
