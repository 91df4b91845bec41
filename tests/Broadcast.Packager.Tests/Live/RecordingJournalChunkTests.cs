using System.Text;
using Broadcast.Packager.Cmaf.Boxes;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
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

    private static readonly string Pssh = Convert.ToBase64String(ProtectionSystemHeader.Create(ProtectionSystemHeader.ClearKeySystemId,
        [KeyId.FromBytes(Convert.FromHexString("00112233445566778899aabbccddeeff"))], []));

    /// <summary>A rotated broadcast's chunk: the period from 25 is in force at its first segment, another begins at 41.</summary>
    private static RecordingJournalChunk Rotated(Func<JournaledKeyPeriod, JournaledKeyPeriod>? second = null)
    {
        var from41 = new JournaledKeyPeriod(41, "cbcs", "00112233-4455-6677-8899-aabbccddeeff",
            [new ManifestDrmSystem("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b", Pssh)], "https://license.example/clearkey?channel=chan&x=1", null,
            [new HlsKeyTags(7, "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"skd://k41\",KEYFORMAT=\"com.apple.streamingkeydelivery\"",
                "#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://k41\",KEYFORMAT=\"com.apple.streamingkeydelivery\"")]);
        return Sample() with
        {
            KeyPeriods = [from41 with { FirstSegment = 25, KeyId = "ffeeddcc-bbaa-9988-7766-554433221100", HlsKeys = null }, second?.Invoke(from41) ?? from41],
        };
    }

    private static string RotatedJson(Func<JournaledKeyPeriod, JournaledKeyPeriod>? second = null) => Encoding.UTF8.GetString(Rotated(second).ToJson());

    [Fact]
    public void The_written_bytes_read_back_as_the_chunk()
    {
        var read = RecordingJournalChunk.TryParse(Sample().ToJson(), out string? error);
        Assert.True(read is not null, error);
        Assert.Equal(SampleJson, Encoding.UTF8.GetString(read.ToJson()));
        Assert.Equal(31, read.First);
        Assert.Equal(2, read.Renditions[0].Segments.Count);
        Assert.Equal("chan/recordings/b1/journal-1.json", RecordingJournalChunk.Key("chan", "b1", 1));
        Assert.DoesNotContain("keyPeriods", SampleJson, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rotated_broadcasts_key_periods_read_back_as_its_manifests_name_them()
    {
        var read = RecordingJournalChunk.TryParse(Rotated().ToJson(), out string? error);
        Assert.True(read is not null, error);
        Assert.Equal(RotatedJson(), Encoding.UTF8.GetString(read.ToJson()));
        var from41 = read.KeyPeriods![1].ToManifest();
        Assert.Equal(41, from41.FirstSegment);
        Assert.Equal("00112233-4455-6677-8899-aabbccddeeff", from41.Key.DefaultKidUuid);
        Assert.Equal(Pssh, Assert.Single(from41.Key.Systems).PsshBase64);
        Assert.Equal("https://license.example/clearkey?channel=chan&x=1", from41.Key.ClearKeyLicenseUrl);
        Assert.Equal((UInt128)7, Assert.Single(from41.Key.HlsKeys).SystemId);
        Assert.Empty(read.KeyPeriods[0].ToManifest().Key.HlsKeys);
        // What the journal keeps is what the manifests named: a period written and read back names the same.
        Assert.Equal(RotatedJson(), Encoding.UTF8.GetString((Rotated() with { KeyPeriods = [.. read.KeyPeriods.Select(p => JournaledKeyPeriod.Of(p.ToManifest()))] }).ToJson()));
    }

    public static TheoryData<string, string, string> MalformedKeyPeriods => new()
    {
        { "periods out of order", RotatedJson(p => p with { FirstSegment = 20 }), "key periods out of order" },
        { "a period after the chunk", RotatedJson(p => p with { FirstSegment = 61 }), "key periods out of order" },
        { "an unknown scheme", RotatedJson(p => p with { Scheme = "rot13" }), "from segment 41: scheme 'rot13'" },
        { "a KID that is no UUID", RotatedJson(p => p with { KeyId = "0011223344556677" }), "key id is not a UUID" },
        { "no systems", RotatedJson(p => p with { Systems = null! }), "no DRM systems" },
        { "a system id that is no UUID", RotatedJson(p => p with { Systems = [new ManifestDrmSystem("clearkey", Pssh)] }), "system id is not a UUID" },
        { "a pssh that is no base64", RotatedJson(p => p with { Systems = [new ManifestDrmSystem("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b", "%%%%")] }), "not base64" },
        { "a pssh that is no box", RotatedJson(p => p with { Systems = [new ManifestDrmSystem("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b", "AAAA")] }), "at least 32 bytes" },
        { "a URL with a quote", RotatedJson(p => p with { ClearKeyLicenseUrl = "https://x/\",METHOD=NONE" }), "URL" },
        { "an empty URL", RotatedJson(p => p with { KeyUrl = "" }), "URL" },
        { "a vendor tag of another method", RotatedJson(p => p with { HlsKeys = [new HlsKeyTags(7, "#EXT-X-KEY:METHOD=NONE", "#EXT-X-SESSION-KEY:METHOD=NONE")] }),
            "METHOD is not SAMPLE-AES" },
        { "a vendor tag on two lines", RotatedJson(p => p with { HlsKeys = [new HlsKeyTags(7, "#EXT-X-KEY:METHOD=SAMPLE-AES\n#EXT-X-ENDLIST", "x")] }),
            "printable ASCII" },
        { "an empty period", Encoding.UTF8.GetString((Rotated() with { KeyPeriods = [null!] }).ToJson()), "a key period is empty" },
    };

    [Theory]
    [MemberData(nameof(MalformedKeyPeriods))]
    public void A_chunk_with_a_malformed_key_period_is_refused_with_its_reason(string name, string json, string reason) =>
        A_malformed_chunk_is_refused_with_its_reason(name, json, reason);

    [Fact]
    public void A_chunk_naming_more_key_periods_than_it_has_segments_is_refused()
    {
        var period = Rotated().KeyPeriods![1];
        var many = Rotated() with { KeyPeriods = [.. Enumerable.Range(0, 31).Select(i => period with { FirstSegment = 30 + i })] };
        Assert.Null(RecordingJournalChunk.TryParse(many.ToJson(), out string? error));
        Assert.Contains("31 key periods", error, StringComparison.Ordinal);
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
        byte[][] seeds = [Encoding.UTF8.GetBytes(SampleJson), Encoding.UTF8.GetBytes(RotatedJson()),
            .. Malformed.Concat(MalformedKeyPeriods).Select(row => Encoding.UTF8.GetBytes((string)row[1]))];
        var report = FuzzRunner.Run("journal-chunk", seeds, (input, _) => RecordingJournalChunk.TryParse(input, out string? _) is { } chunk && chunk.Last >= chunk.First,
            new FuzzOptions { MaxInputLength = 4096 });
        output.WriteLine(report.ToString());
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
