namespace Broadcast.WebRtc.Room;

/// <summary>The live room (<c>Room:*</c>): one Janus VideoRoom per channel whose participants are composed into the channel's show.</summary>
public sealed class RoomOptions
{
    public const string Section = "Room";

    /// <summary>Participants publishing at once in one room (the show's grid holds four).</summary>
    public int MaxParticipants { get; set; } = 4;

    /// <summary>Video codecs a room takes, in order of preference (Janus <c>videocodec</c>): VP8 for browsers, H.264 for OBS's WHIP.</summary>
    public string VideoCodecs { get; set; } = "vp8,h264";

    /// <summary>The video bitrate Janus asks each publisher to stay under (REMB), bits per second.</summary>
    public int MaxBitrate { get; set; } = 1_500_000;

    /// <summary>How long a participant that joined may take to connect (ICE and DTLS) before its place is freed.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long an emptied room's show stays on air (placeholders) waiting for its participants to come back.</summary>
    public TimeSpan EmptyHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a host's invite link works (it works once).</summary>
    public TimeSpan InviteLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long a guest waits in the green room for a host's answer.</summary>
    public TimeSpan KnockLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A waiting guest whose page stops asking (closed) leaves the green room after this.</summary>
    public TimeSpan KnockPollTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an admitted guest's grant to publish works.</summary>
    public TimeSpan GrantLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// WHIP stream keys refused from one address (an IPv6 client by its /64) within <see cref="FailedKeyWindow"/> that block
    /// it for <see cref="FailedKeyBlock"/> (429): key guessing, as RTMP's <c>Rtmp:MaxFailedPublishesPerIp</c> stops it. 0: never.
    /// </summary>
    public int MaxFailedKeysPerAddress { get; set; } = 10;

    public TimeSpan FailedKeyWindow { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan FailedKeyBlock { get; set; } = TimeSpan.FromMinutes(5);
}
