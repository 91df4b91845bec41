using System.Buffers;
using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor.Video;

/// <summary>
/// One planar YUV 4:2:0 picture (ffmpeg's <c>yuv420p</c>: a full-size Y plane, then U and V at half width and half
/// height, tightly packed). Its planes are rented from the shared array pool and returned on dispose, so a decoder's
/// frames and the canvas cost no allocation once the pool is warm. Sizes are even, as 4:2:0 needs.
/// </summary>
public sealed class Yuv420Frame : IDisposable
{
    /// <summary>Video black in limited range (BT.601/709): Y 16, U and V at the neutral 128.</summary>
    public const byte BlackLuma = 16, NeutralChroma = 128;

    private byte[]? _y, _u, _v;

    public Yuv420Frame(int width, int height)
    {
        if (width < 2 || height < 2 || width % 2 != 0 || height % 2 != 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"{width}x{height}: a 4:2:0 frame is even-sized, at least 2x2");
        Width = width;
        Height = height;
        _y = ArrayPool<byte>.Shared.Rent(width * height);
        _u = ArrayPool<byte>.Shared.Rent(ChromaWidth * ChromaHeight);
        _v = ArrayPool<byte>.Shared.Rent(ChromaWidth * ChromaHeight);
    }

    public int Width { get; }

    public int Height { get; }

    public PixelSize Size => new(Width, Height);

    public int ChromaWidth => Width / 2;

    public int ChromaHeight => Height / 2;

    /// <summary>Bytes of one picture in <c>yuv420p</c>, as a raw pipe carries it.</summary>
    public int ByteLength => Width * Height * 3 / 2;

    public Span<byte> Y => (_y ?? throw Disposed()).AsSpan(0, Width * Height);

    public Span<byte> U => (_u ?? throw Disposed()).AsSpan(0, ChromaWidth * ChromaHeight);

    public Span<byte> V => (_v ?? throw Disposed()).AsSpan(0, ChromaWidth * ChromaHeight);

    /// <summary>Plane 0, 1 or 2 (Y, U, V).</summary>
    public Span<byte> Plane(int index) => index switch { 0 => Y, 1 => U, 2 => V, _ => throw new ArgumentOutOfRangeException(nameof(index)) };

    public void Fill(byte y, byte u, byte v)
    {
        Y.Fill(y);
        U.Fill(u);
        V.Fill(v);
    }

    /// <summary>Reads one picture in <c>yuv420p</c> layout (Y, then U, then V), as a raw decoder pipe delivers it.</summary>
    public void CopyFrom(ReadOnlySpan<byte> yuv420p)
    {
        if (yuv420p.Length != ByteLength) throw new ArgumentException($"a {Width}x{Height} yuv420p picture is {ByteLength} bytes, " +
            $"not {yuv420p.Length}", nameof(yuv420p));
        int luma = Width * Height, chroma = luma / 4;
        yuv420p[..luma].CopyTo(Y);
        yuv420p.Slice(luma, chroma).CopyTo(U);
        yuv420p.Slice(luma + chroma, chroma).CopyTo(V);
    }

    /// <summary>Writes the picture in <c>yuv420p</c> layout, as the encoder's raw pipe takes it.</summary>
    public void CopyTo(Span<byte> yuv420p)
    {
        if (yuv420p.Length < ByteLength) throw new ArgumentException($"a {Width}x{Height} yuv420p picture needs {ByteLength} bytes", nameof(yuv420p));
        int luma = Width * Height, chroma = luma / 4;
        Y.CopyTo(yuv420p);
        U.CopyTo(yuv420p[luma..]);
        V.CopyTo(yuv420p[(luma + chroma)..]);
    }

    public void Dispose()
    {
        Return(ref _y);
        Return(ref _u);
        Return(ref _v);
    }

    private static void Return(ref byte[]? plane)
    {
        var array = Interlocked.Exchange(ref plane, null);
        if (array is not null) ArrayPool<byte>.Shared.Return(array);
    }

    private static ObjectDisposedException Disposed() => new(nameof(Yuv420Frame));
}

/// <summary>
/// A still image with alpha (ffmpeg's <c>yuva420p</c>): a 4:2:0 picture plus an alpha plane at luma resolution,
/// 0 transparent to 255 opaque. Logos, lower thirds and placeholder cards are decoded into one of these once.
/// </summary>
public sealed class Yuva420Image : IDisposable
{
    private byte[]? _alpha;

    public Yuva420Image(int width, int height)
    {
        Picture = new Yuv420Frame(width, height);
        _alpha = ArrayPool<byte>.Shared.Rent(width * height);
    }

    public Yuv420Frame Picture { get; }

    public int Width => Picture.Width;

    public int Height => Picture.Height;

    public Span<byte> Alpha => (_alpha ?? throw new ObjectDisposedException(nameof(Yuva420Image))).AsSpan(0, Width * Height);

    /// <summary>Reads one image in <c>yuva420p</c> layout: Y, U, V, then alpha.</summary>
    public void CopyFrom(ReadOnlySpan<byte> yuva420p)
    {
        int picture = Picture.ByteLength;
        if (yuva420p.Length != picture + Width * Height) throw new ArgumentException($"a {Width}x{Height} yuva420p image is " +
            $"{picture + Width * Height} bytes, not {yuva420p.Length}", nameof(yuva420p));
        Picture.CopyFrom(yuva420p[..picture]);
        yuva420p[picture..].CopyTo(Alpha);
    }

    public void Dispose()
    {
        Picture.Dispose();
        var array = Interlocked.Exchange(ref _alpha, null);
        if (array is not null) ArrayPool<byte>.Shared.Return(array);
    }
}
