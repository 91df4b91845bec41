using System.Text;
using Broadcast.Packager.Live;
using Broadcast.TestSupport.Fuzzing;
using Xunit.Abstractions;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// One chunk of a recorded broadcast's journal, read back by the node that writes the recording after a takeover: what
/// it reads from the bytes a packager wrote, and every malformed chunk refused with a reason (the recording then has a
/// gap and a log line), never an exception.
/// </summary>
public sealed class RecordingJournalChunkTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset At = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    private static RecordingJournalChunk Sample() => new(LiveBroadcastState.CurrentVersion, "20261121T054512Z", 31, 60,
    [
        new RenditionState("source", true, 90_000, 1, 0,
        [
            new SegmentState(31, 5_400_000, 180_000, 4000, 60, true, false, 0, At, 0, 0),
            new SegmentState(32, 5_580_000, 180_000, 4100, 60, true, true, 1, At.AddSeconds(2), 0, 0),
        ]),
        new RenditionState("audio", false, 48_000, -1, 0, []),
    ]);

    private static string SampleJson => Encoding.UTF8.GetString(Sample().ToJson());

    [Fact]
    public void The_written_bytes_read_back_as_the_chunk()
    {
        var read = RecordingJournalChunk.TryParse(Sample().ToJson(), out string? error);
        Assert.True(read is not null, error);
        Assert.Equal(SampleJson, Encoding.UTF8.GetString(read.ToJson()));
        Assert.Equal(31, read.First);
        Assert.Equal(2, read.Renditions[0].Segments.Count);
        Assert.Equal("chan/recordings/b1/journal-1.json", RecordingJournalChunk.Key("chan", "b1", 1));
    }

    public static TheoryData<string, string, string> Malformed => new()
    {
        { "not JSON", "{", "not JSON" },
        { "null", "null", "empty chunk" },
        { "another version", SampleJson.Replace("\"version\":1", "\"version\":9", StringComparison.Ordinal), "version 9" },
        { "a broadcast id that is no key", SampleJson.Replace("20261121T054512Z", "..", StringComparison.Ordinal), "invalid broadcast id" },
        { "numbers off the chunk grid", SampleJson.Replace("\"first\":31", "\"first\":32", StringComparison.Ordinal), "numbers 32..60" },
        { "a chunk of another size", SampleJson.Replace("\"last\":60", "\"last\":90", StringComparison.Ordinal), "numbers 31..90" },
        { "no renditions", SampleJson[..SampleJson.IndexOf("\"renditions\"", StringComparison.Ordinal)] + "\"renditions\":null}", "no renditions" },
        { "numbers out of order", SampleJson.Replace("\"number\":32", "\"number\":31", StringComparison.Ordinal), "out of order" },
        { "an init version above the last", SampleJson.Replace("\"lastInitVersion\":1", "\"lastInitVersion\":0", StringComparison.Ordinal), "out of order" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void A_malformed_chunk_is_refused_with_its_reason(string name, string json, string reason)
    {
        Assert.Null(RecordingJournalChunk.TryParse(Encoding.UTF8.GetBytes(json), out string? error));
        Assert.True(error is not null && error.Contains(reason, StringComparison.Ordinal), $"{name}: {error}");
    }

    [Fact]
    public void A_chunk_over_the_size_bound_is_refused_unread()
    {
        Assert.Null(RecordingJournalChunk.TryParse(new byte[LiveBroadcastState.MaxBytes + 1], out string? error));
        Assert.Contains("larger than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fuzz_any_bytes_are_read_or_refused_without_an_exception()
    {
        byte[][] seeds = [Encoding.UTF8.GetBytes(SampleJson), .. Malformed.Select(row => Encoding.UTF8.GetBytes((string)row[1]))];
        var report = FuzzRunner.Run("journal-chunk", seeds, (input, _) => RecordingJournalChunk.TryParse(input, out string? _) is { } chunk && chunk.Last >= chunk.First,
            new FuzzOptions { MaxInputLength = 4096 });
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
