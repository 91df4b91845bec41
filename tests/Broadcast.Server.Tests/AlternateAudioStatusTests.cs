using Broadcast.Control.Channels;
using Broadcast.Media;

namespace Broadcast.Server.Tests;

/// <summary>
/// The channel's status (the dashboard's "Renditions") names the encoder's alternate audio under the names the packager
/// serves them by, once each track carried its first frame.
/// </summary>
public class AlternateAudioStatusTests
{
    private static readonly Channel News = new("c1", "News", "news", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

    [Fact]
    public async Task Alternate_audio_tracks_are_listed_as_renditions_once_they_carry_audio()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out var stream));
        var aac = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        stream.SetTrack(aac);
        var french = stream.AlternateAudioTrack(258, new AudioLabel("fra", AudioPurpose.Main), maxTracks: 4, out _)!;
        stream.AlternateAudioTrack(259, new AudioLabel("eng", AudioPurpose.AudioDescription), maxTracks: 4, out _);

        var state = await new PipelineChannelLiveStatus(registry).GetAsync(News, default);
        Assert.Equal(["audio"], state.Renditions);

        french.SetTrack(aac);
        state = await new PipelineChannelLiveStatus(registry).GetAsync(News, default);
        Assert.Equal(["audio", "audio-fr"], state.Renditions);
    }
}
