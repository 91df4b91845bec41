using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Refusals;
using Broadcast.WebRtc.Room;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>
/// The room's show over the compositor's <see cref="RoomPrograms"/>: its participants become the program's RTP places. A show
/// that starts goes through the <see cref="PublishGate"/> as every other source does: it takes the channel's lease (a room
/// live on another node is refused here) and continues the broadcast a dead node's room left within the reconnect grace.
/// </summary>
internal sealed class RoomProgramShow(RoomPrograms programs, ProgramHost host, PublishGate gate) : IRoomShow
{
    public async Task<IReadOnlyDictionary<string, RoomRtpTarget>> ShowAsync(string channel, IReadOnlyList<RoomFeed> participants,
        CancellationToken cancellationToken)
    {
        PublishTicket? ticket = null;
        if (participants.Count > 0 && host.Find(channel) is null)
        {
            var admission = await gate.AdmitRoomAsync(channel, cancellationToken).ConfigureAwait(false);
            ticket = admission.Ticket ?? throw new RoomShowRefusedException(admission.Refusal!);
        }
        var members = participants.Select(p => new RoomMember(p.ParticipantId, p.VideoCodec, p.HasAudio, p.IsScreen, p.RequestKeyframe, p.Display))
            .ToList();
        try
        {
            var ports = await programs.UpdateAsync(channel, members, ticket, cancellationToken).ConfigureAwait(false);
            return ports.ToDictionary(p => p.Key,
                p => new RoomRtpTarget(p.Value.VideoPort, p.Value.AudioPort, RtpInputDecoder.VideoPayloadType, RtpInputDecoder.AudioPayloadType),
                StringComparer.Ordinal);
        }
        catch (RoomProgramConflictException e)
        {
            throw new RoomShowRefusedException(e.Message);
        }
        catch (ProgramChannelOnAirException e)
        {
            throw new RoomShowRefusedException(e.Message);
        }
    }

    public async Task<bool> ChooseLayoutAsync(string channel, string kind, IReadOnlyList<string> participantIds, CancellationToken cancellationToken)
    {
        // A room's layout is one of the compositor's words or "auto" (the layout that follows the room); a free layout has
        // no place in a room.
        LayoutKind? layout = null;
        if (kind != "auto")
        {
            if (!LayoutWords.TryKind(kind, out var chosen) || chosen == LayoutKind.Free)
                throw Refusal.Invalid("kind", $"unknown layout '{kind}': auto, single, side-by-side, grid or pip");
            layout = chosen;
        }

        try
        {
            return await programs.ChooseLayoutAsync(channel, layout, participantIds, cancellationToken).ConfigureAwait(false);
        }
        catch (LayoutException e)
        {
            // The request's participants: one not in the room (the compositor's "members") in its own words, a layout that
            // cannot be drawn with them with the planner's field.
            throw Refusal.Invalid("participants", e.Field == "members" ? e.Problem : e.Message);
        }
    }
}

/// <summary>Who may publish into a room over WHIP: the <see cref="PublishGate"/> (control's stream key and schedule).</summary>
internal sealed class ChannelRoomPublishAuthorizer(PublishGate gate, ChannelService channels) : IRoomPublishAuthorizer
{
    public async ValueTask<bool> IsChannelAsync(string channel, CancellationToken cancellationToken) =>
        await channels.GetBySlugAsync(channel, cancellationToken).ConfigureAwait(false) is not null;

    public async ValueTask<RoomPublishDecision> AuthorizeAsync(string streamKey, System.Net.IPAddress? address, string? userAgent,
        CancellationToken cancellationToken)
        => await gate.AdmitWhipAsync(streamKey, new PublishCaller(address, userAgent), cancellationToken).ConfigureAwait(false);
}

public static class RoomSetup
{
    /// <summary>The room's ports, after <see cref="ProgramSetup.AddPrograms"/> (its <see cref="ProgramHost"/>).</summary>
    public static void AddRooms(this IServiceCollection services)
    {
        services.AddSingleton(sp => new RoomPrograms(sp.GetRequiredService<ProgramHost>(),
            sp.GetRequiredService<IOptions<RoomOptions>>().Value.EmptyHold,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Broadcast.Compositor.Room")));
        services.AddSingleton<IRoomShow, RoomProgramShow>();
        services.AddSingleton<IRoomPublishAuthorizer, ChannelRoomPublishAuthorizer>();
    }
}
