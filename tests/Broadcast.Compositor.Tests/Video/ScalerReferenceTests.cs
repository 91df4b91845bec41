using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.Compositor.Tests.Video;

/// <summary>The compositor's scaling of a real picture (ffmpeg's testsrc2) against ffmpeg's own scaler on the same frame.</summary>
[Trait("Kind", "Component")]
public sealed class ScalerReferenceTests(ITestOutputHelper output)
{
    /// <summary>name, target size, ffmpeg's scaler flags, the largest mean absolute difference per plane allowed (8-bit levels).</summary>
    public static TheoryData<string, int, int, string, double> Sizes() => new()
    {
        { "half size (side by side, grid)", 640, 360, "area", 0.25 },
        { "an inset at 30 %", 384, 216, "area", 0.25 },
        { "a 4:3 reduction", 320, 240, "area", 0.25 },
        { "enlarged 1.5x", 1920, 1080, "bilinear", 0.25 },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Scaling_a_real_picture_matches_ffmpegs_scaler_to_a_fraction_of_a_level(string name, int width, int height, string flags, double allowed)
    {
        using var directory = new TempDirectory("scaler");
        string source = directory.Combine("source.yuv"), reference = directory.Combine("reference.yuv");
        MediaTools.Run("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=1", "-frames:v", "1",
            "-pix_fmt", "yuv420p", "-f", "rawvideo", "-y", source);
        MediaTools.Run("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "1280x720", "-i", source,
            "-vf", $"scale={width}:{height}:flags={flags}+accurate_rnd+full_chroma_int", "-pix_fmt", "yuv420p", "-f", "rawvideo", "-y", reference);

        using var input = new Yuv420Frame(1280, 720);
        input.CopyFrom(File.ReadAllBytes(source));
        using var expected = new Yuv420Frame(width, height);
        expected.CopyFrom(File.ReadAllBytes(reference));
        using var canvas = new Yuv420Frame(width, height);
        var sources = new CompositionSources();
        sources.Frames["testsrc2"] = input;
        var layout = new ProgramLayout(LayoutKind.Free, [new("testsrc2", FitMode.Fill, new PixelRect(0, 0, width, height))]);
        // Fill with the source's own aspect or a stretch (4:3): the crop is then the whole picture only when aspects match.
        var plan = LayoutPlanner.Plan(layout, canvas.Size, new Dictionary<string, PixelSize?> { ["testsrc2"] = input.Size });
        if (plan.Tiles[0].Crop != new PixelRect(0, 0, 1280, 720))
            plan = new LayoutPlan(canvas.Size, [plan.Tiles[0] with { Crop = new PixelRect(0, 0, 1280, 720) }]);
        new FrameCompositor().Compose(canvas, plan, sources);

        // The picture has detail to get wrong: many levels, and edges.
        Assert.True(expected.Y.ToArray().Distinct().Count() > 100, "the reference is nearly flat");
        for (int plane = 0; plane < 3; plane++)
        {
            var ours = canvas.Plane(plane);
            var theirs = expected.Plane(plane);
            long total = 0;
            for (int i = 0; i < ours.Length; i++) total += Math.Abs(ours[i] - theirs[i]);
            double mean = (double)total / ours.Length;
            output.WriteLine($"{name}, plane {plane}: mean difference {mean:F3} levels from ffmpeg scale flags={flags}");
            Assert.True(mean <= allowed, $"{name}, plane {plane}: mean difference {mean:F3} > {allowed}");
        }
    }
}
