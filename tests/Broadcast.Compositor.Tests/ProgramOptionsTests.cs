using Broadcast.Compositor.Engine;
using Broadcast.Media;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Compositor.Tests;

/// <summary><c>AddCompositor</c> reads <c>Program:*</c> once, into the settings the node's one program host runs with.</summary>
public sealed class ProgramOptionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddSingleton(new LiveStreamRegistry());
        services.AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance);
        services.AddCompositor(configuration);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task Unset_keys_give_the_documented_defaults_and_the_host_is_one_per_node()
    {
        await using var provider = Build([]);
        var settings = provider.GetRequiredService<ProgramSettings>();
        Assert.Equal(1280, settings.Canvas.Width);
        Assert.Equal(720, settings.Canvas.Height);
        Assert.Equal(30, settings.Clock.RateNumerator);
        Assert.Equal(3000, settings.VideoKilobits);
        Assert.Same(provider.GetRequiredService<ProgramHost>(), provider.GetRequiredService<ProgramHost>());
    }

    [Fact]
    public void Program_keys_and_the_nodes_ffmpeg_become_the_settings()
    {
        using var provider = Build(new()
        {
            ["Program:Width"] = "1920",
            ["Program:Height"] = "1080",
            ["Program:FramesPerSecond"] = "50",
            ["Program:VideoKilobits"] = "6000",
            ["Program:KeeperSeconds"] = "7",
            ["Transcode:FfmpegPath"] = "/opt/ffmpeg/bin/ffmpeg",
        });
        var settings = provider.GetRequiredService<ProgramSettings>();
        Assert.Equal(new Broadcast.Compositor.Layouts.PixelSize(1920, 1080), settings.Canvas);
        Assert.Equal(50, settings.Clock.RateNumerator);
        Assert.Equal(6000, settings.VideoKilobits);
        Assert.Equal("/opt/ffmpeg/bin/ffmpeg", settings.FfmpegPath);
    }

    [Fact]
    public void A_value_that_is_not_a_number_fails_the_start_naming_its_key()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(new() { ["Program:Width"] = "wide" }));
        Assert.Contains("Program:Width", error.Message, StringComparison.Ordinal);
    }
}
