using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>RTMP settings out of range stop the start with the key named, rather than failing a publish later.</summary>
public sealed class RtmpOptionsValidationTests
{
    private static ServiceProvider Build(Dictionary<string, string?> values)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIngest(config);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void The_multitrack_cap_defaults_to_six_video_tracks()
    {
        using var sp = Build([]);
        Assert.Equal(6, sp.GetRequiredService<IOptions<Broadcast.Ingest.Rtmp.RtmpOptions>>().Value.MaxVideoTracks);
    }

    [Theory]
    [InlineData("Rtmp:MaxVideoTracks", "0", "Rtmp:MaxVideoTracks must be 1..255")]
    [InlineData("Rtmp:MaxVideoTracks", "256", "Rtmp:MaxVideoTracks must be 1..255")]
    [InlineData("Rtmp:ReceiveCoalescingMilliseconds", "-1", "Rtmp:ReceiveCoalescingMilliseconds must be 0..200")]
    [InlineData("Rtmp:ReceiveCoalescingMilliseconds", "201", "Rtmp:ReceiveCoalescingMilliseconds must be 0..200")]
    [InlineData("Rtmp:ReceiveThreads", "-1", "Rtmp:ReceiveThreads must be 0..64")]
    [InlineData("Rtmp:ReceiveThreads", "65", "Rtmp:ReceiveThreads must be 0..64")]
    public void A_setting_out_of_range_fails_naming_the_key(string key, string value, string message)
    {
        using var sp = Build(new() { [key] = value });
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IOptions<Broadcast.Ingest.Rtmp.RtmpOptions>>().Value);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 20)]
    [InlineData("0", 0)]
    [InlineData("50", 50)]
    public void The_receive_coalescing_window_is_20_ms_unless_set(string? value, int expected)
    {
        using var sp = Build(value is null ? [] : new() { ["Rtmp:ReceiveCoalescingMilliseconds"] = value });
        Assert.Equal(expected, sp.GetRequiredService<IOptions<Broadcast.Ingest.Rtmp.RtmpOptions>>().Value.ReceiveCoalescingMilliseconds);
    }
}
