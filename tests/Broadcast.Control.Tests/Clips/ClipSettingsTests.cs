using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Tests.Clips;

/// <summary><c>Clips:MaxSeconds</c>: the longest clip, 300 s unless set; a value that is not 1..86400 whole seconds stops the start.</summary>
public sealed class ClipSettingsTests
{
    private static ControlSettings With(string? seconds) => ControlSettings.From(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["Clips:MaxSeconds"] = seconds }).Build());

    [Fact]
    public void The_longest_clip_defaults_to_five_minutes_and_follows_the_key()
    {
        Assert.Equal(TimeSpan.FromSeconds(300), With(null).ClipMaxLength);
        Assert.Equal(TimeSpan.FromSeconds(45), With("45").ClipMaxLength);
        Assert.Equal(TimeSpan.FromSeconds(86_400), With("86400").ClipMaxLength);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("86401")]
    [InlineData("-5")]
    [InlineData("2.5")]
    [InlineData("five")]
    public void A_value_outside_whole_seconds_from_1_to_86400_stops_the_start(string seconds)
    {
        var error = Assert.Throws<InvalidOperationException>(() => With(seconds));
        Assert.Contains("Clips:MaxSeconds", error.Message, StringComparison.Ordinal);
    }
}
