using Broadcast.Media;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// Language tags (RFC 5646 section 2.2.1: the two-letter code where ISO 639-1 has one), menu names, the purposes each
/// format can say, and the store names of a broadcast's audio renditions.
/// </summary>
public sealed class AudioRenditionLabelTests
{
    [Theory]
    [InlineData("eng", "en")]
    [InlineData("fra", "fr")]
    [InlineData("fre", "fr")] // the bibliographic code names the same language
    [InlineData("ger", "de")]
    [InlineData("gsw", "gsw")] // Swiss German has no two-letter code: its three letters are its tag
    [InlineData("und", null)]
    [InlineData("mul", null)]
    [InlineData("qaa", null)] // reserved for local use
    [InlineData("EN", null)]
    [InlineData("en", null)]
    [InlineData("e1g", null)]
    [InlineData(null, null)]
    public void Language_tag(string? iso639, string? tag) => Assert.Equal(tag, AudioRenditionLabel.LanguageTag(iso639));

    [Fact]
    public void Names_for_a_menu()
    {
        Assert.Equal("French", AudioRenditionLabel.DisplayName(new AudioLabel("fra", AudioPurpose.Main), "audio-2"));
        Assert.Equal("English (audio description)", AudioRenditionLabel.DisplayName(new AudioLabel("eng", AudioPurpose.AudioDescription), "x"));
        Assert.Equal("gsw", AudioRenditionLabel.DisplayName(new AudioLabel("gsw", AudioPurpose.Main), "x"));
        Assert.Equal("audio-3", AudioRenditionLabel.DisplayName(AudioLabel.Unlabelled, "audio-3"));
        Assert.Equal("public.accessibility.describes-video", AudioRenditionLabel.HlsCharacteristics(AudioPurpose.AudioDescription));
        Assert.Null(AudioRenditionLabel.HlsCharacteristics(AudioPurpose.CleanEffects));
        Assert.Equal(2, AudioRenditionLabel.DashAudioPurpose(AudioPurpose.HearingImpaired));
    }

    [Fact]
    public void Rendition_names_are_the_language_else_the_position()
    {
        var names = AudioRenditionLabel.RenditionNames("audio",
        [
            new AudioLabel("fra", AudioPurpose.Main), new AudioLabel("eng", AudioPurpose.AudioDescription), AudioLabel.Unlabelled,
            new AudioLabel("fre", AudioPurpose.AudioDescription), new AudioLabel("und", AudioPurpose.Main),
        ]);
        Assert.Equal(["audio", "audio-fr", "audio-en", "audio-4", "audio-5", "audio-6"], names);
        Assert.All(names, n => Assert.True(Storage.StoreKeys.IsValidName(n), n));
    }
}
