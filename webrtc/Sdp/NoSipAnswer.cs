using System.Globalization;
using System.Text;

namespace Broadcast.WebRtc.Sdp;

/// <summary>Where and how our RTP goes to one viewer's NoSIP handle: Janus's loopback ports and the payload types the viewer chose.</summary>
public sealed record NoSipMediaPlan(string JanusAddress, int VideoPort, int VideoPayloadType, int AudioPort, int AudioPayloadType)
{
    public bool HasAudio => AudioPort > 0;
}

/// <summary>
/// Our side of a NoSIP call for a WHEP viewer. Janus turns the viewer's WebRTC offer into a plain RTP offer (its
/// <c>generated</c> event): the same media sections and payload types, with Janus's loopback RTP ports. This answers it
/// as a sender: for video one H.264 payload type (packetization mode 1, the profile we send if the viewer offered it),
/// for audio Opus, both <c>sendonly</c> from our port; every other section is refused (port 0). Janus then answers the
/// viewer with exactly these choices, so the RTP we send needs only its payload type set per viewer.
/// </summary>
public static class NoSipAnswer
{
    /// <summary>Builds the answer, or says why the offer cannot be played.</summary>
    /// <param name="preferredProfileIdc">The H.264 <c>profile_idc</c> we send (66 baseline, 77 main, 100 high).</param>
    public static bool TryBuild(SessionDescription offer, int ourPort, int preferredProfileIdc, out string answer, out NoSipMediaPlan plan,
        out string error)
    {
        ArgumentNullException.ThrowIfNull(offer);
        answer = "";
        plan = null!;
        error = "";
        var text = new StringBuilder();
        text.Append("v=0\r\no=- ").Append(ourPort.ToString(CultureInfo.InvariantCulture))
            .Append(" 1 IN IP4 127.0.0.1\r\ns=broadcast\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n");
        string? address = offer.ConnectionAddress;
        int videoPort = 0, videoPt = -1, audioPort = 0, audioPt = -1;
        foreach (var media in offer.Media)
        {
            bool wanted = media.Port != 0 && media.Direction is "recvonly" or "sendrecv";
            if (wanted && media.Media == "video" && videoPt < 0 && ChooseH264(media, preferredProfileIdc) is { } h264)
            {
                videoPt = h264.PayloadType;
                videoPort = media.Port;
                address ??= media.ConnectionAddress;
                AppendSendOnly(text, media, h264, ourPort);
            }
            else if (wanted && media.Media == "audio" && audioPt < 0 && media.RtpMaps().FirstOrDefault(IsOpus) is { } opus)
            {
                audioPt = opus.PayloadType;
                audioPort = media.Port;
                address ??= media.ConnectionAddress;
                AppendSendOnly(text, media, opus, ourPort);
            }
            else
            {
                // Refused: what we do not send (a second video, data channels, a codec we do not have).
                text.Append("m=").Append(media.Media).Append(" 0 ").Append(media.Protocol).Append(' ').Append(media.Formats[0]).Append("\r\n");
                if (media.Mid is { } mid) text.Append("a=mid:").Append(mid).Append("\r\n");
            }
        }

        if (videoPt < 0)
        {
            error = "the offer has no receivable H.264 video (packetization-mode=1)";
            return false;
        }

        if (address is null)
        {
            error = "the offer has no connection address";
            return false;
        }

        answer = text.ToString();
        plan = new NoSipMediaPlan(address, videoPort, videoPt, audioPort, audioPt);
        return true;
    }

    /// <summary>
    /// The H.264 payload type to send: packetization mode 1 only (FU-A, which ffmpeg's packetizer writes), the preferred
    /// profile first, then constrained baseline (every browser decodes it), then any other.
    /// </summary>
    internal static RtpMap? ChooseH264(MediaDescription media, int preferredProfileIdc)
    {
        RtpMap? best = null;
        int bestRank = int.MaxValue;
        foreach (var map in media.RtpMaps())
        {
            if (!map.Encoding.Equals("H264", StringComparison.OrdinalIgnoreCase) || map.ClockRate != 90000) continue;
            var parameters = ParseParameters(media.FormatParameters(map.PayloadType));
            if (!parameters.TryGetValue("packetization-mode", out string? mode) || mode != "1") continue;
            // profile-level-id (RFC 6184 §8.1): profile_idc, the constraint flags byte, level_idc, in hex.
            int profileIdc = -1, constraints = 0;
            if (parameters.TryGetValue("profile-level-id", out string? pli) && pli.Length == 6
                && int.TryParse(pli.AsSpan(0, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int p)
                && int.TryParse(pli.AsSpan(2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int c))
            {
                profileIdc = p;
                constraints = c;
            }

            // Constrained baseline: baseline with constraint_set1_flag (or main with constraint_set0/1), what x264's baseline writes.
            bool constrainedBaseline = profileIdc == 0x42 && (constraints & 0x40) != 0;
            bool preferred = preferredProfileIdc == 0x42 ? constrainedBaseline : profileIdc == preferredProfileIdc;
            int rank = preferred ? 0 : constrainedBaseline ? 1 : profileIdc == 0x42 ? 2 : 3;
            if (rank < bestRank)
            {
                best = map;
                bestRank = rank;
            }
        }

        return best;
    }

    internal static Dictionary<string, string> ParseParameters(string fmtp)
    {
        var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string part in fmtp.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0) parameters[part[..equals].Trim()] = part[(equals + 1)..].Trim();
        }

        return parameters;
    }

    private static bool IsOpus(RtpMap map)
        => map.Encoding.Equals("opus", StringComparison.OrdinalIgnoreCase) && map.ClockRate == 48000 && map.Channels == 2;

    private static void AppendSendOnly(StringBuilder text, MediaDescription media, RtpMap map, int ourPort)
    {
        string pt = map.PayloadType.ToString(CultureInfo.InvariantCulture);
        text.Append("m=").Append(media.Media).Append(' ').Append(ourPort.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(media.Protocol)
            .Append(' ').Append(pt).Append("\r\n");
        if (media.Mid is { } mid) text.Append("a=mid:").Append(mid).Append("\r\n");
        text.Append("a=rtpmap:").Append(pt).Append(' ').Append(map.Encoding).Append('/').Append(map.ClockRate.ToString(CultureInfo.InvariantCulture));
        if (media.Media == "audio") text.Append('/').Append(map.Channels.ToString(CultureInfo.InvariantCulture));
        text.Append("\r\n");
        string fmtp = media.FormatParameters(map.PayloadType);
        if (fmtp.Length > 0) text.Append("a=fmtp:").Append(pt).Append(' ').Append(fmtp).Append("\r\n");
        // Loss recovery and keyframe requests the viewer offered: Janus answers NACKs from its own buffer.
        foreach (string feedback in media.FeedbackOf(map.PayloadType))
        {
            if (feedback is "nack" or "nack pli" or "ccm fir") text.Append("a=rtcp-fb:").Append(pt).Append(' ').Append(feedback).Append("\r\n");
        }

        text.Append("a=sendonly\r\n");
    }
}
