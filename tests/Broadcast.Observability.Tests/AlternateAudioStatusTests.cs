using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Packager.Live;

namespace Broadcast.Observability.Tests;

/// <summary>
/// The channel's status (the dashboard's "Renditions") names the audio renditions as the packager serves them: the
/// encoder's other languages under the names the packager gave them (from their tags or the channel's names), and only
/// the default audio before packaging has started.
/// </summary>
public class AlternateAudioStatusTests
{
    private static readonly Channel News = new("c1", "News", "news", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

    [Fact]
    public async Task The_audio_renditions_are_those_the_packager_serves()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out var stream));
        var aac = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        stream.SetTrack(aac);
        stream.AlternateAudioTrack(258, AudioLabel.Unlabelled, maxTracks: 4, out _)!.SetTrack(aac);

        var state = await new PipelineChannelLiveStatus(registry).GetAsync(News, default);
        Assert.Equal(["audio"], state.Renditions);

        // The channel named the untagged second track French: the packager serves it as audio-fr, and so says the status.
        var packaging = new StreamPackagerStatus("news", "b1", false, false, 3, null, 2, []) { AudioRenditions = ["audio", "audio-fr"] };
        state = await new PipelineChannelLiveStatus(registry, new OneStreamPackagerStatusForTests(packaging)).GetAsync(News, default);
        Assert.Equal(["audio", "audio-fr"], state.Renditions);
    }

    private sealed class OneStreamPackagerStatusForTests(StreamPackagerStatus status) : IPackagerStatus
    {
        public IReadOnlyList<StreamPackagerStatus> Streams => [status];

        public StreamPackagerStatus? Find(string channel) => channel == status.Channel ? status : null;
    }
}
