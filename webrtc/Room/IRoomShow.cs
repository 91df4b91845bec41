using Broadcast.Refusals;

namespace Broadcast.WebRtc.Room;

/// <summary>One participant of a room as its show sees it: who, what their video is encoded as, and how to ask for a keyframe.</summary>
/// <param name="ParticipantId">Our id of the participant (stable while they are in the room).</param>
/// <param name="VideoCodec">The RTP encoding name of their video (<c>VP8</c>, <c>H264</c>, <c>VP9</c>).</param>
/// <param name="IsScreen">Their video is a screen share (the show gives it the large place).</param>
public sealed record RoomFeed(string ParticipantId, string Display, string VideoCodec, bool HasAudio, bool IsScreen, Action RequestKeyframe);

/// <summary>Where a participant's RTP goes: loopback ports and the payload types to rewrite each stream to.</summary>
public sealed record RoomRtpTarget(int VideoPort, int AudioPort, int VideoPayloadType, int AudioPayloadType);

/// <summary>The show cannot take this room now (its channel is on air from an encoder, or the show has no place left): a conflict.</summary>
public sealed class RoomShowRefusedException(string message) : Refusal(RefusalKind.Conflict, message);

/// <summary>
/// The show a room's participants are composed into (the channel's program), owned by the room and implemented by the
/// server over the compositor. Told the room's whole membership on every change; a participant keeps its target for as
/// long as it stays in the room.
/// </summary>
public interface IRoomShow
{
    /// <summary>
    /// The room of <paramref name="channel"/> now has <paramref name="participants"/> (in the order they joined; empty: the
    /// room emptied). Returns where each participant's RTP goes, by participant id.
    /// </summary>
    /// <exception cref="RoomShowRefusedException">The show cannot take this membership; nothing changed.</exception>
    Task<IReadOnlyDictionary<string, RoomRtpTarget>> ShowAsync(string channel, IReadOnlyList<RoomFeed> participants,
        CancellationToken cancellationToken);

    /// <summary>
    /// A host sets the show's layout: <paramref name="kind"/> (<c>single</c>, <c>side-by-side</c>, <c>grid</c>, <c>pip</c>)
    /// with <paramref name="participantIds"/> in order, or <c>auto</c> (the layout follows the room). False when the room's
    /// show is not on air.
    /// </summary>
    /// <exception cref="Refusal">Invalid, naming its field: an unknown <c>kind</c>, or <c>participants</c> not in the show or that
    /// the layout cannot be drawn with.</exception>
    Task<bool> ChooseLayoutAsync(string channel, string kind, IReadOnlyList<string> participantIds, CancellationToken cancellationToken);
}
