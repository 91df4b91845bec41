using Broadcast.TestSupport;

namespace Broadcast.Server.Tests;

/// <summary>
/// No product source file (C# or the dashboard's scripts) grows past 450 lines: a file that long does several jobs, and
/// the next one goes into a type of its own (tests, benchmarks and generated output are not product files).
/// </summary>
public sealed class ProductFileSizeTests
{
    private const int MaxLines = 450;

    private static readonly string[] NotProduct = ["tests", "bench", "bin", "obj", "node_modules", ".git", "shared"];

    [Fact]
    public void No_product_file_is_over_450_lines()
    {
        var files = Directory.EnumerateFiles(RepoPaths.Root, "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".js", StringComparison.Ordinal))
            .Where(f => !Path.GetRelativePath(RepoPaths.Root, f).Split(Path.DirectorySeparatorChar).Any(part => NotProduct.Contains(part)))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}lib{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(files);
        var over = files.Select(f => (File: Path.GetRelativePath(RepoPaths.Root, f), Lines: File.ReadLines(f).Count()))
            .Where(f => f.Lines > MaxLines).OrderByDescending(f => f.Lines).Select(f => $"{f.File} ({f.Lines})").ToList();
        Assert.True(over.Count == 0, $"over {MaxLines} lines: {string.Join(", ", over)}");
    }
}
