using System.Globalization;
using System.Security.Cryptography;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Control.Dashboard.Schedule;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// One channel: encoder setup (RTMP server and masked key with reveal, copy, rotate), live preview, health
/// figures and charts (pushed over SignalR), encoder advice, playback URLs and upcoming events.
/// </summary>
public sealed class ChannelModel(ChannelService channels, LiveStatusMonitor monitor, PublicUrls urls, IDashboardSchedule schedule,
    IAntiforgery antiforgery, TimeProvider time, Broadcast.Control.Events.IBroadcastTerminator terminator) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    public ChannelLiveView View { get; private set; } = null!;

    public string RtmpUrl { get; private set; } = "";

    /// <summary>The SRT publish URL with the masked key (the reveal button fills in the real one); null while SRT is off.</summary>
    public string? SrtUrl { get; private set; }

    /// <summary>The backup ingest server (<c>Public:BackupRtmpBaseUrl</c>), or null.</summary>
    public string? BackupRtmpUrl => urls.BackupRtmpUrl();

    public string HlsUrl { get; private set; } = "";

    public string DashUrl { get; private set; } = "";

    /// <summary>Same-origin playlist path for the preview (the CSP allows only our own origin).</summary>
    public string HlsPath => $"/live/{Channel.Slug}/master.m3u8{PreviewQuery}";

    /// <summary>True when viewers need a signed token (the preview then carries one minted for this page).</summary>
    public bool PrivatePlayback { get; private set; }

    private string PreviewQuery { get; set; } = "";

    public IReadOnlyList<DashboardEvent> Upcoming { get; private set; } = [];

    public string AntiforgeryToken { get; private set; } = "";

    [TempData]
    public string? Flash { get; set; }

    /// <summary>The last "Test key" outcome (<see cref="ChannelProtectionFacts.Outcome"/>), shown in the Protection card.</summary>
    [TempData]
    public string? KeyTest { get; set; }

    /// <summary>Where this node's keys come from, in words (no URL path, no token).</summary>
    public string KeySource { get; private set; } = "";

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null)
        {
            return NotFound();
        }

        Channel = channel;
        (View, _) = await monitor.GetAsync(channel, cancellationToken).ConfigureAwait(false);
        RtmpUrl = urls.RtmpUrl(Request);
        SrtUrl = urls.SrtUrl(Request, channel.StreamKeyHint);
        HlsUrl = urls.HlsUrl(Request, channel.Slug);
        DashUrl = urls.DashUrl(Request, channel.Slug);
        var now = time.GetUtcNow();
        Upcoming = (await schedule.ListEventsAsync(now, now.AddDays(60), channel.Id, cancellationToken).ConfigureAwait(false))
            .Where(e => e.IsOpen).Take(5).ToList();
        AntiforgeryToken = antiforgery.GetAndStoreTokens(HttpContext).RequestToken ?? "";
        (PrivatePlayback, PreviewQuery) = await ChannelPrivatePlayback.PreviewAsync(HttpContext, channel, cancellationToken).ConfigureAwait(false);
        KeySource = ChannelProtectionFacts.Check(HttpContext).KeySource;
        return Page();
    }

    /// <summary>"Test key": the node's key provider asked for a key for this channel's scheme, as a broadcast's start asks it;
    /// the outcome (KID, DRM systems, HLS key formats, or the refusal) is shown, never the key.</summary>
    public async Task<IActionResult> OnPostTestKeyAsync(string id, CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null) return NotFound();
        KeyTest = ChannelProtectionFacts.Outcome(
            await ChannelProtectionFacts.Check(HttpContext).CheckAsync(channel.Slug, channel.Protection, cancellationToken).ConfigureAwait(false));
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>The full key as JSON for the reveal button; antiforgery-checked POST, never cached.</summary>
    public async Task<IActionResult> OnPostRevealKeyAsync(string id, CancellationToken cancellationToken)
    {
        Response.Headers.CacheControl = "no-store";
        IssuedChannel? issued;
        try
        {
            issued = await channels.RevealKeyAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (CryptographicException)
        {
            return new JsonResult(new { error = "The key was encrypted under a different server secret. Rotate it to issue a new one." })
                { StatusCode = 409 };
        }

        return issued is null ? NotFound()
            : new JsonResult(new { streamKey = issued.StreamKey, rtmpUrl = urls.RtmpUrl(Request), srtUrl = urls.SrtUrl(Request, issued.StreamKey) });
    }

    public async Task<IActionResult> OnPostPrivatePlaybackAsync(string id, bool enabled, CancellationToken cancellationToken)
    {
        if (!await ChannelPrivatePlayback.SetAsync(HttpContext, id, enabled, cancellationToken).ConfigureAwait(false))
        {
            return NotFound();
        }

        Flash = enabled ? "Playback is private: viewers need a signed link." : "Playback is public again.";
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>Switches whether the watch page plays the channel over WebRTC (WHEP) first; viewers who load the page next see it.</summary>
    public async Task<IActionResult> OnPostRealTimeAsync(string id, bool enabled, CancellationToken cancellationToken)
    {
        if (await channels.UpdateAsync(id, name: null, requireSchedule: null, lowLatency: null, realTime: enabled,
            cancellationToken).ConfigureAwait(false) is null)
        {
            return NotFound();
        }

        Flash = enabled
            ? "Real time on: the watch page plays over WebRTC, with LL-HLS when WebRTC fails or the real-time audience is full."
            : "Real time off: the watch page plays over HLS.";
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>
    /// "Protection": how the channel's next broadcasts are encrypted (none, cenc, cbcs, aes-128; docs/protection.md) and how
    /// often their content key changes (0: one key per broadcast; N: every N segments), saved together through the channel
    /// service's one door. Any other word, or a rotation that is missing, not a whole number or outside 0..1000, changes
    /// nothing and says so.
    /// </summary>
    public async Task<IActionResult> OnPostProtectionAsync(string id, string? protection, int? keyRotationSegments,
        CancellationToken cancellationToken)
    {
        if (!ChannelProtections.TryParse(protection, out var chosen))
        {
            Flash = "Protection was not changed: choose none, cenc, cbcs or aes-128.";
            return Redirect($"/dashboard/channels/{id}");
        }

        // A value the binder could not read as a whole number arrives as null.
        if (keyRotationSegments is not { } rotation || ChannelKeyRotation.Error(rotation) is not null)
        {
            Flash = string.Create(CultureInfo.InvariantCulture,
                $"Protection was not changed: key rotation is a whole number of segments from 0 (one key per broadcast) to {ChannelKeyRotation.MaxSegments}.");
            return Redirect($"/dashboard/channels/{id}");
        }

        if (await channels.SetProtectionAsync(id, chosen, rotation, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotFound();
        }

        Flash = chosen == ChannelProtection.None
            ? "Protection off: the next broadcast is packaged in the clear."
            : chosen == ChannelProtection.Aes128
            ? "Protection aes-128: the next broadcast's HLS segments are encrypted whole, the key served to authorized players at its "
              + "EXT-X-KEY URL; it has no DASH. A broadcast on air keeps what its players were given."
            : $"Protection {ChannelProtections.Name(chosen)}: the next broadcast is encrypted and plays with W3C ClearKey in HLS and DASH players "
              + "given the license URL (the watch page is). A broadcast on air keeps what its players were given.";
        Flash += " Key rotation: " + ChannelProtectionFacts.Rotation(chosen, rotation) + ".";
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>The longest rewind window the page offers, in minutes (<see cref="ChannelService.RewindSecondsMax"/>: 24 hours).</summary>
    public const int RewindMinutesMax = ChannelService.RewindSecondsMax / 60;

    /// <summary>The rewind window as the page shows it: "30 min", "live window only" or "server default".</summary>
    public static string RewindLabel(int? seconds) => seconds switch
    {
        null => "server default",
        0 => "live window only",
        < 60 and { } s => string.Create(CultureInfo.InvariantCulture, $"{s} s"),
        { } s when s % 60 == 0 => string.Create(CultureInfo.InvariantCulture, $"{s / 60} min"),
        { } s => string.Create(CultureInfo.InvariantCulture, $"{s / 60} min {s % 60} s"),
    };

    /// <summary>
    /// The rewind window in whole minutes for the form's input (rounded, at least 1 when there is any window, so saving the
    /// form unchanged never turns a window set through the API in seconds into "live window only"); empty when it follows
    /// the server's.
    /// </summary>
    public static string RewindInput(int? seconds) => seconds switch
    {
        null => "",
        0 => "0",
        { } s => Math.Max(1, (s + 30) / 60).ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Sets how far back viewers may go in the live broadcast (start-over and rewind), in minutes: 0 keeps only the live
    /// window, empty follows the server's <c>Packager:DvrSeconds</c>.
    /// </summary>
    /// <summary>
    /// The "Audio track languages" form: the channel's names for the encoder's untagged audio tracks (see
    /// <see cref="AudioTrackNames"/>), one entry per track in the order the encoder sends them, e.g. "en, fr/audioDescription".
    /// </summary>
    public async Task<IActionResult> OnPostAudioTracksAsync(string id, string? tracks, CancellationToken cancellationToken)
    {
        Channel? channel;
        try
        {
            channel = await channels.SetAudioTracksAsync(id, ReadAudioTracksInput(tracks), cancellationToken).ConfigureAwait(false);
        }
        catch (Refusal e)
        {
            Flash = "The audio track languages were not changed: " + FormErrors.Sentence(e);
            return Redirect($"/dashboard/channels/{id}");
        }

        if (channel is null) return NotFound();
        Flash = channel.AudioTracks is { Count: > 0 } named
            ? $"Audio track languages: {AudioTracksInput(named)}. Applies from the next broadcast."
            : "Audio track languages: none; untagged tracks are offered as audio-2, audio-3… Applies from the next broadcast.";
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>The form's text as entries: comma-separated, "-" or nothing leaves a track as sent, "/" adds the purpose.</summary>
    public static IReadOnlyList<(string? Language, string? Purpose)> ReadAudioTracksInput(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return [];
        return text.Split(',').Select(e => e.Trim()).Select(e => e is "" or "-" ? ((string?)null, (string?)null)
            : e.Split('/', 2) is [var language, var purpose] ? (language.Trim(), purpose.Trim()) : (e, null)).ToArray();
    }

    /// <summary>The form's text for the names stored (the inverse of <see cref="ReadAudioTracksInput"/>).</summary>
    public static string AudioTracksInput(IReadOnlyList<Broadcast.Media.AudioLabel>? labels) => labels is null ? ""
        : string.Join(", ", labels.Select(l => (l.Language ?? "-")
            + (l.Purpose == Broadcast.Media.AudioPurpose.Main ? "" : "/" + AudioTrackNames.PurposeName(l.Purpose))));

    public async Task<IActionResult> OnPostRewindAsync(string id, int? minutes, CancellationToken cancellationToken)
    {
        // A value that is not a whole number fails model binding: refused, not taken for "empty".
        if (!ModelState.IsValid || minutes is < 0 or > RewindMinutesMax)
        {
            Flash = $"The rewind window was not changed: give whole minutes from 0 (live window only) to {RewindMinutesMax} (24 hours), " +
                "or leave it empty for the server default.";
            return Redirect($"/dashboard/channels/{id}");
        }

        Channel? channel;
        try
        {
            channel = await channels.UpdateAsync(id, name: null, requireSchedule: null, lowLatency: null, realTime: null,
                RewindChange.To(minutes * 60), cancellationToken).ConfigureAwait(false);
        }
        catch (Refusal e)
        {
            Flash = "The rewind window was not changed: " + FormErrors.Sentence(e);
            return Redirect($"/dashboard/channels/{id}");
        }

        if (channel is null)
        {
            return NotFound();
        }

        Flash = minutes switch
        {
            null => "Rewind window: the server default (Packager:DvrSeconds).",
            0 => "Rewind window: live window only; viewers cannot go back.",
            _ => $"Rewind window: viewers may go back {RewindLabel(channel.RewindSeconds)} in the live broadcast.",
        };
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>Switches the channel's low-latency packaging (LL-HLS, LL-DASH); a broadcast keeps what it started with.</summary>
    public async Task<IActionResult> OnPostLowLatencyAsync(string id, bool enabled, CancellationToken cancellationToken)
    {
        if (await channels.UpdateAsync(id, name: null, requireSchedule: null, lowLatency: enabled, cancellationToken).ConfigureAwait(false) is null)
        {
            return NotFound();
        }

        Flash = enabled
            ? "Low latency on: the next broadcast is packaged with parts (LL-HLS, LL-DASH)."
            : "Standard latency: the next broadcast is packaged without parts.";
        return Redirect($"/dashboard/channels/{id}");
    }

    public async Task<IActionResult> OnPostRotateSigningKeysAsync(string id, CancellationToken cancellationToken)
    {
        var ring = await ChannelPrivatePlayback.RotateAsync(HttpContext, cancellationToken).ConfigureAwait(false);
        Flash = $"Playback signing keys rotated: links now signed with key {ring.Current.Id}; key {ring.Previous?.Id} still verifies.";
        return Redirect($"/dashboard/channels/{id}");
    }

    /// <summary>"End broadcast": the live broadcast ends now, even inside its scheduled event or while it waits for the encoder.</summary>
    public async Task<IActionResult> OnPostEndBroadcastAsync(string id, CancellationToken cancellationToken)
    {
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null)
        {
            return NotFound();
        }

        Flash = await terminator.EndBroadcastAsync(channel, "ended by an admin", cancellationToken).ConfigureAwait(false)
            ? "Broadcast ended. The recording is closed; a new publish starts a new broadcast."
            : "Nothing was live on this channel.";
        return Redirect($"/dashboard/channels/{id}");
    }

    public async Task<IActionResult> OnPostRotateKeyAsync(string id, CancellationToken cancellationToken)
    {
        var issued = await channels.RotateKeyAsync(id, cancellationToken).ConfigureAwait(false);
        if (issued is null)
        {
            return NotFound();
        }

        Flash = "Stream key rotated. Reveal it and give the new key to the encoder operator.";
        return Redirect($"/dashboard/channels/{id}");
    }
}
