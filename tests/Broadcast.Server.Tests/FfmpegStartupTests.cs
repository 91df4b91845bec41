using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// A node whose parts run ffmpeg does not start without it, whichever part needs it (not only the transcoder); a node
/// whose parts need none starts without it. No product options class keeps an ffmpeg default of its own: the node's
/// <c>FfmpegLocator</c> owns it.
/// </summary>
public sealed class FfmpegStartupTests
{
    private const string Missing = "/nonexistent/bin/ffmpeg";

    [Fact]
    public async Task An_ingest_node_without_the_transcoder_still_needs_its_ffmpeg()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            InProcessServer.StartAsync("--Transcode:Enabled=false", $"--Transcode:FfmpegPath={Missing}"));
        Assert.Contains($"'{Missing}', Transcode:FfmpegPath", ex.Message);
        Assert.Contains("apt-get install ffmpeg", ex.Message);
        Assert.Contains("clips", ex.Message);
    }

    [Fact]
    public async Task A_parts_own_missing_ffmpeg_stops_the_start_naming_its_setting()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            InProcessServer.StartAsync("--Transcode:Enabled=false", $"--Whep:FfmpegPath={Missing}"));
        Assert.Contains($"'{Missing}', Whep:FfmpegPath", ex.Message);
    }

    [Fact]
    public async Task An_origin_only_node_starts_without_ffmpeg()
    {
        await using var origin = await InProcessServer.StartAsync("--Roles=origin", "--Playback:PublicOnly=true", "--Admin:Token=",
            $"--Transcode:FfmpegPath={Missing}");
        Assert.Equal("ok\n", await origin.Http.GetStringAsync("/healthz"));
    }

    [Fact]
    public void No_product_source_keeps_its_own_ffmpeg_default()
    {
        string[] notProduct = ["tests", "bench", "bin", "obj", "node_modules", ".git", "shared"];
        string locator = Path.Combine("processes", "FfmpegLocator.cs");
        var literals = Directory.EnumerateFiles(RepoPaths.Root, "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(RepoPaths.Root, f))
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => notProduct.Contains(part)) && f != locator)
            .SelectMany(f => File.ReadLines(Path.Combine(RepoPaths.Root, f)).Select((line, i) => (File: f, Line: i + 1, Text: line.Trim())))
            .Where(l => !l.Text.StartsWith("//", StringComparison.Ordinal) && l.Text.Contains("\"ffmpeg\"", StringComparison.Ordinal))
            .Select(l => $"{l.File}:{l.Line}")
            .ToList();
        Assert.True(literals.Count == 0, "an ffmpeg default outside FfmpegLocator: " + string.Join(", ", literals));
    }
}
