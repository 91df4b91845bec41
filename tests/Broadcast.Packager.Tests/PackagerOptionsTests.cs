using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests;

public sealed class PackagerOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddPackager(config);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Defaults_bind_and_validate()
    {
        using var sp = Build(new() { ["Storage:Path"] = Path.Combine(Path.GetTempPath(), "pk-" + Guid.NewGuid().ToString("N")) });
        var o = sp.GetRequiredService<IOptions<PackagerOptions>>().Value;
        Assert.Equal(2, o.SegmentSeconds);
        Assert.Equal(6, o.WindowSegments);
        Assert.Equal(0, o.DvrSeconds);
        Assert.Equal("public, max-age=1", CachePolicies.Live(o));
        Assert.Same(sp.GetRequiredService<LivePackager>(), sp.GetRequiredService<IPackagerStatus>());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("11")]
    public void Out_of_range_segment_seconds_fail_naming_the_key(string value)
    {
        using var sp = Build(new() { ["Packager:SegmentSeconds"] = value });
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<PackagerOptions>>().Value);
        Assert.Contains("Packager:SegmentSeconds", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.1")]
    [InlineData("1.5")]
    [InlineData("0")]
    public void Out_of_range_part_seconds_fail_naming_the_key(string value)
    {
        using var sp = Build(new() { ["Packager:PartSeconds"] = value });
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<PackagerOptions>>().Value);
        Assert.Contains("Packager:PartSeconds", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, CaptionDeclaration.Detect)]
    [InlineData("always", CaptionDeclaration.Always)]
    [InlineData("Never", CaptionDeclaration.Never)]
    public void Captions_setting_binds_by_name(string? value, CaptionDeclaration expected)
    {
        using var sp = Build(new() { ["Packager:Captions"] = value });
        Assert.Equal(expected, sp.GetRequiredService<IOptions<PackagerOptions>>().Value.Captions);
    }

    [Fact]
    public void An_unknown_captions_setting_fails_naming_the_key()
    {
        using var sp = Build(new() { ["Packager:Captions"] = "7" });
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<PackagerOptions>>().Value);
        Assert.Contains("Packager:Captions", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Low_latency_defaults_are_a_third_of_a_second_and_off()
    {
        using var sp = Build(new() { ["Storage:Path"] = Path.Combine(Path.GetTempPath(), "pk-" + Guid.NewGuid().ToString("N")) });
        var o = sp.GetRequiredService<IOptions<PackagerOptions>>().Value;
        Assert.Equal(0.333m, o.PartSeconds);
        Assert.Equal(29_970, o.PartTicks);
        Assert.False(o.LowLatencyByDefault);
        Assert.IsType<DefaultLowLatencyPolicy>(sp.GetRequiredService<ILowLatencyPolicy>());
    }

    [Fact]
    public void Every_setting_has_a_row_in_the_configuration_page()
    {
        string page = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "configuration.md"));
        var missing = typeof(PackagerOptions).GetProperties()
            .Where(p => p.CanWrite)
            .Select(p => $"`{PackagerOptions.SectionName}:{p.Name}`")
            .Where(key => !page.Contains(key, StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, $"docs/configuration.md has no row for {string.Join(", ", missing)}");
    }
}
