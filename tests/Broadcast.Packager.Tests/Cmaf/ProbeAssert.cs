using System.Text.Json;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>Assertions over ffprobe's JSON (-show_packets -show_streams) against the samples that went in.</summary>
public static class ProbeAssert
{
    public static JsonElement SingleStream(JsonDocument probe) => Assert.Single(probe.RootElement.GetProperty("streams").EnumerateArray());

    /// <summary>
    /// Compares ffprobe's packets with what went in. Durations are checked the way the demuxer uses them:
    /// it derives each DTS from the previous DTS plus the trun duration, and the stream's end (duration_ts)
    /// from the last one. ffprobe's per-packet "duration" field is not the container's: for H.264 ffmpeg 5.1
    /// replaces it with the parser's VUI frame duration (3000 at 30 fps), so it cannot witness trun values.
    /// </summary>
    public static void Packets(JsonDocument probe, IReadOnlyList<ExpectedSample> expected)
    {
        var packets = probe.RootElement.GetProperty("packets").EnumerateArray().ToList();
        Assert.Equal(expected.Count, packets.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var want = expected[i];
            var got = packets[i];
            string context = $"packet {i}";
            Assert.True(want.Dts == Number(got, "dts"), $"{context}: dts {want.Dts} vs {got}");
            Assert.True(want.Dts + want.CompositionOffset == Number(got, "pts"), $"{context}: pts {want.Dts + want.CompositionOffset} vs {got}");
            Assert.True(want.IsSync == got.GetProperty("flags").GetString()!.StartsWith('K'), $"{context}: key {want.IsSync} vs {got}");
            Assert.True(want.Data.Length == Number(got, "size"), $"{context}: size {want.Data.Length} vs {got}");
            if (i + 1 < expected.Count)
            {
                long probedDuration = Number(packets[i + 1], "dts") - Number(got, "dts");
                Assert.True(want.Duration == probedDuration, $"{context}: duration {want.Duration} vs {probedDuration}");
            }
        }
        var stream = SingleStream(probe);
        Assert.Equal(expected[^1].Dts + expected[^1].Duration, stream.GetProperty("duration_ts").GetInt64());
    }

    /// <summary>ffprobe's JSON writes some integers as numbers (pts, dts) and some as strings (size).</summary>
    public static long Number(JsonElement element, string name)
    {
        var value = element.GetProperty(name);
        return value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
    }
}
