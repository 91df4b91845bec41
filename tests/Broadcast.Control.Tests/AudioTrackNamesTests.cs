using Broadcast.Control.Channels;
using Broadcast.Media;

namespace Broadcast.Control.Tests;

/// <summary><see cref="AudioTrackNames"/>: what an admin may write for a track, and the stored column read back, malformed text included.</summary>
public class AudioTrackNamesTests
{
    [Theory]
    [InlineData("fr", "fra")]     // ISO 639-1 in the table: its terminologic ISO 639-2 code
    [InlineData("DE", "deu")]
    [InlineData("fre", "fre")]    // any three-letter code as written, lower case
    [InlineData("Gsw", "gsw")]
    [InlineData("xx", null)]      // two letters not in the table
    [InlineData("e", null)]
    [InlineData("engl", null)]
    [InlineData("e1g", null)]
    [InlineData("en-GB", null)]
    [InlineData("", null)]
    public void Languages_read_as_ISO_639_2(string text, string? code) => Assert.Equal(code, AudioLanguages.ToIso639(text));

    [Fact]
    public void Entries_read_with_their_purpose_and_trailing_empty_ones_dropped()
    {
        var (labels, errors) = AudioTrackNames.Read([("en", "MAIN"), (null, null), ("ita", "hearingImpaired"), ("", null), (null, "main")]);
        Assert.Empty(errors);
        Assert.Equal([new AudioLabel("eng", AudioPurpose.Main), AudioLabel.Unlabelled, new AudioLabel("ita", AudioPurpose.HearingImpaired)], labels!);
        Assert.Equal("eng,-,ita:2", AudioTrackNames.Encode(labels!));
        Assert.Null(AudioTrackNames.Encode([]));
    }

    [Theory]
    [InlineData("eng,-,fra:3", "eng/Main -/Main fra/AudioDescription")]
    [InlineData("eng", "eng/Main")]
    [InlineData("", "")]
    [InlineData(",,,", "")]                             // nothing named
    [InlineData("ENG,fr,fra:9,fra:x,fra:1:2", "-/Main -/Main fra/Main fra/Main fra/Main")] // not as written: names nothing, or the main sound
    [InlineData("eng,eng,eng,eng,eng,eng,eng,eng,spa", "eng/Main eng/Main eng/Main eng/Main eng/Main eng/Main eng/Main eng/Main")] // eight at most
    [InlineData("\u00e9ng:\u0663", "")]
    public void The_stored_column_reads_back_and_malformed_text_names_nothing(string stored, string expected)
    {
        var labels = AudioTrackNames.Decode(stored);
        Assert.Equal(expected, string.Join(' ', labels.Select(l => $"{l.Language ?? "-"}/{l.Purpose}")));
    }

    [Fact]
    public void Decoding_random_text_never_throws_and_stays_within_the_cap()
    {
        var random = new Random(4711);
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABC0123456789:,-\u00e9 ";
        for (int i = 0; i < 2000; i++)
        {
            var text = new string(Enumerable.Range(0, random.Next(0, 80)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            var labels = AudioTrackNames.Decode(text);
            Assert.True(labels.Count <= AudioTrackNames.MaxTracks, text);
            Assert.All(labels, l => Assert.True(l.Language is null || l.Language.Length == 3, text));
        }
    }
}
