namespace Broadcast.Compositor.Layouts;

/// <summary>A width and height in pixels.</summary>
public readonly record struct PixelSize(int Width, int Height)
{
    public override string ToString() => $"{Width}x{Height}";
}

/// <summary>A rectangle in pixels: left, top, width, height.</summary>
public readonly record struct PixelRect(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;

    public int Bottom => Y + Height;

    public bool IsEmpty => Width <= 0 || Height <= 0;

    public bool LiesWithin(PixelSize size) => X >= 0 && Y >= 0 && Width > 0 && Height > 0 && Right <= size.Width && Bottom <= size.Height;

    public override string ToString() => $"{Width}x{Height}+{X}+{Y}";

    /// <summary>
    /// This rectangle on the 4:2:0 chroma grid: every edge snapped down to an even pixel, so a rectangle's chroma samples
    /// are exactly its luma samples halved and neighbouring tiles never share a chroma sample.
    /// </summary>
    public PixelRect AlignedEven()
    {
        int left = X & ~1, top = Y & ~1;
        int right = Right & ~1, bottom = Bottom & ~1;
        return new PixelRect(left, top, right - left, bottom - top);
    }
}
