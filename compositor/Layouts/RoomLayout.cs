namespace Broadcast.Compositor.Layouts;

/// <summary>One place in a room's show: the input that shows it and whether it is a screen share.</summary>
public readonly record struct RoomTile(string InputId, bool IsScreen);

/// <summary>
/// The layout that follows a room: one participant fills the frame, two sit side by side, three or four share a 2×2
/// grid; a screen share takes the large place (three quarters of the width) with the cameras in a column beside it.
/// Cameras fill their cells (a face cropped at the sides beats a small picture in black bars); a screen share is fitted
/// whole (its text must stay readable).
/// </summary>
public static class RoomLayout
{
    public static ProgramLayout For(IReadOnlyList<RoomTile> tiles, PixelSize canvas)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.Count == 0) throw new ArgumentException("a room's layout needs at least one participant", nameof(tiles));
        var screen = tiles.FirstOrDefault(t => t.IsScreen);
        if (screen.InputId is not null)
        {
            var cameras = tiles.Where(t => t.InputId != screen.InputId).Take(3).ToList();
            if (cameras.Count == 0) return new ProgramLayout(LayoutKind.Single, [new LayoutInput(screen.InputId, FitMode.Fit)]);
            int mainWidth = (canvas.Width * 3 / 4) & ~1;
            int columnWidth = canvas.Width - mainWidth;
            int cellHeight = (canvas.Height / 3) & ~1;
            var placed = new List<LayoutInput> { new(screen.InputId, FitMode.Fit, new PixelRect(0, 0, mainWidth, canvas.Height)) };
            // The cameras stacked from the top of the column, each a third of the height.
            for (int i = 0; i < cameras.Count; i++)
                placed.Add(new LayoutInput(cameras[i].InputId, FitMode.Fill, new PixelRect(mainWidth, i * cellHeight, columnWidth, cellHeight),
                    Z: 1));
            return new ProgramLayout(LayoutKind.Free, placed);
        }

        var inputs = tiles.Take(4).Select(t => new LayoutInput(t.InputId, FitMode.Fill)).ToList();
        return inputs.Count switch
        {
            1 => new ProgramLayout(LayoutKind.Single, inputs),
            2 => new ProgramLayout(LayoutKind.SideBySide, inputs),
            _ => new ProgramLayout(LayoutKind.Grid, inputs),
        };
    }
}
