using Broadcast.Storage;

namespace Broadcast.Storage.Tests;

/// <summary>Which objects make up one broadcast's recording, by the key layout <see cref="StoreKeys"/> documents.</summary>
public sealed class RecordingKeyTests
{
    [Theory]
    [InlineData("/live/main/recordings/20300501T120005Z/master.m3u8", "main", "20300501T120005Z")]
    [InlineData("main/recordings/20300501T120005Z/master.m3u8", "main", "20300501T120005Z")]
    [InlineData("/live/main/recordings/20300501T120005Z/manifest.mpd", null, null)]
    [InlineData("/live/main/recordings/master.m3u8", null, null)]
    [InlineData("/live/../recordings/x/master.m3u8", null, null)]
    [InlineData("/live/main/video/20300501T120005Z/master.m3u8", null, null)]
    [InlineData("", null, null)]
    [InlineData("////", null, null)]
    public void The_recording_master_path_names_its_channel_and_broadcast(string path, string? channel, string? broadcastId) =>
        Assert.Equal((channel, broadcastId), StoreKeys.ParseRecordingMaster(path));

    [Theory]
    [InlineData("main/720p/index.m3u8", "main/720p/index-skip.m3u8")]
    [InlineData("main/720p/20300501T120005Z.m3u8", null)]
    [InlineData("main/master.m3u8", null)]
    [InlineData("main/720p/index-skip.m3u8", null)]
    [InlineData("index.m3u8", null)]
    public void Only_a_live_media_playlist_has_a_stored_delta_update(string key, string? delta)
    {
        Assert.Equal(delta, StoreKeys.MediaPlaylistDeltaOf(key));
        if (delta is not null) Assert.True(StoreKeys.IsValid(delta, out _));
    }

    [Fact]
    public void Live_and_recording_masters_are_masters_and_media_playlists_are_not()
    {
        Assert.True(StoreKeys.IsMaster(StoreKeys.Master("main")));
        Assert.True(StoreKeys.IsMaster(StoreKeys.RecordingMaster("main", "20300501T120005Z")));
        Assert.False(StoreKeys.IsMaster(StoreKeys.MediaPlaylist("main", "720p")));
        Assert.False(StoreKeys.IsMaster(StoreKeys.VodPlaylist("main", "720p", "20300501T120005Z")));
        Assert.False(StoreKeys.IsMaster("main/notmaster.m3u8"));
    }

    [Fact]
    public void A_recording_is_its_folder_and_the_rendition_files_named_after_its_broadcast()
    {
        const string id = "20300501T120005Z";
        string[] keys =
        [
            StoreKeys.RecordingMaster("main", id), StoreKeys.RecordingMpd("main", id), StoreKeys.RecordingPoster("main", id),
            StoreKeys.Init("main", "720p", id, 0), StoreKeys.Init("main", "720p", id, 2), StoreKeys.Segment("main", "720p", id, 41),
            StoreKeys.VodPlaylist("main", "audio", id),
            // Not this recording's: live manifests, another broadcast, another channel, the live thumbnail.
            StoreKeys.Master("main"), StoreKeys.MediaPlaylist("main", "720p"), StoreKeys.Segment("main", "720p", "20300501T130000Z", 41),
            StoreKeys.RecordingMaster("main", "20300501T130000Z"), StoreKeys.Segment("other", "720p", id, 1), StoreKeys.Thumbnail("main"),
        ];
        Assert.Equal(keys[..7], keys.Where(k => StoreKeys.IsRecordingObject("main", id, k)));
    }
}
