using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Schedule;
using Broadcast.Control.Persistence;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The public viewer page. What it shows follows the channel's state: the live player while on air, a countdown
/// before the next event, "ended" with the recording after one, a recording when one is asked for.
/// </summary>
public sealed class WatchModel(ChannelService channels, IChannelLiveStatus live, IDashboardSchedule schedule, TimeProvider time, PublicUrls urls,
    WatchReads reads) : PageModel
{
    public Channel Channel { get; private set; } = null!;

    /// <summary>live, recording, countdown, ended, cancelled or offline.</summary>
    public string Mode { get; internal set; } = "offline";

    public DashboardEvent? Event { get; private set; }

    public DashboardRecording? Recording { get; private set; }

    /// <summary>"&amp;token=…" when a private channel's page was opened with a good viewing token, for the links it shows.</summary>
    public string TokenQuery { get; private set; } = "";

    /// <summary>The playlist the player opens (same origin, as the CSP requires).</summary>
    public string Source { get; internal set; } = "";

    /// <summary>
    /// How far back a viewer of the live broadcast may go: the window its packaging took when it started (the channel's
    /// rewind window, else <c>Packager:DvrSeconds</c>), which is what its live manifests reach back; a change to the
    /// channel applies from the next broadcast. Above zero, the page shows its seek bar and "From the start".
    /// </summary>
    public int RewindSeconds { get; private set; }

    /// <summary>The clip a <c>?clip={id}</c> link plays (a range of a broadcast, issue #49), or null.</summary>
    public Broadcast.Control.Clips.Clip? Clip { get; private set; }

    public string Heading => Clip?.Title ?? Event?.Title ?? Recording?.Title ?? Channel.Name;

    /// <summary>
    /// The picture shown before playback starts: the live thumbnail while on air, the recording's poster (the broadcast's
    /// last thumbnail, kept with the recording) for a recording; same-origin paths. Null otherwise.
    /// </summary>
    public string? Poster => Mode switch
    {
        "live" => $"/live/{Channel.Slug}/thumbnail.jpg{(TokenQuery.Length > 0 ? "?" + TokenQuery[1..] : "")}",
        "recording" or "ended" when Recording is not null
            => PosterOf(SameOrigin(Recording.HlsUrl)) + (TokenQuery.Length > 0 ? "?" + TokenQuery[1..] : ""),
        _ => null,
    };

    /// <summary>
    /// The link preview (Open Graph) image: an absolute URL of <see cref="Poster"/>, for public channels only (a private
    /// channel's picture needs a token, which a link preview must not carry).
    /// </summary>
    public string? PreviewImage => Poster is { } poster && TokenQuery.Length == 0 && Mode != "private" ? urls.HttpBase(Request) + poster : null;

    /// <summary>The line under the title: the channel (when the title is an event's) and when.</summary>
    public string Subtitle
    {
        get
        {
            var parts = new List<string>(2);
            if (Event is not null || Recording is not null || Clip is not null)
            {
                parts.Add(Channel.Name);
            }

            parts.Add(Mode switch
            {
                "live" => "Live now",
                "recording" when Clip is { } clip => $"Clip of {Format.Utc(clip.StartsAt)}, {Format.Duration(clip.EndsAt - clip.StartsAt)}",
                "recording" => $"Recorded {Format.Utc(Recording!.EndedAt)}",
                "offline" => "No broadcast right now",
                "private" => "Private broadcast",
                _ => Format.Utc(Event!.StartsAt),
            });
            return string.Join(" · ", parts);
        }
    }

    public string Badge => Mode switch
    {
        "private" => "Private",
        "live" => "LIVE",
        "recording" => Clip is null ? "Recording" : "Clip",
        "countdown" => "Upcoming",
        "ended" => "Ended",
        "cancelled" => "Cancelled",
        _ => "Offline",
    };

    public async Task<IActionResult> OnGetAsync(string slug, string? recording, string? clip, CancellationToken cancellationToken)
    {
        if (await FindAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel)
        {
            return NotFound();
        }

        Channel = channel;
        var granted = PrivatePlayback.Authorize(this);
        if (granted == WatchAccess.Refused)
        {
            // Nothing of the channel is looked up: a recording id asked for, real or not, gets this same page.
            Mode = "private";
            return Page();
        }

        if (clip is not null ? !await ResolveClipAsync(channel, clip, cancellationToken).ConfigureAwait(false)
            : !await ResolveAsync(channel, recording, cancellationToken).ConfigureAwait(false))
        {
            return NotFound();
        }

        if (granted == WatchAccess.Token)
        {
            TokenQuery = "&token=" + Uri.EscapeDataString(Request.Query["token"].ToString());
        }

        await PrivatePlayback.ApplyAsync(this, granted, cancellationToken).ConfigureAwait(false);
        return Page();
    }

    /// <summary>
    /// <c>?handler=State</c>: the mode alone, polled by watch.js every few seconds so the page turns into the player
    /// when the encoder connects (even before the nominal start) and into "ended" when the broadcast stops. A private
    /// channel answers "private" unless the poll carries the page's viewing token (or comes from an admin).
    /// </summary>
    /// <remarks>
    /// Every viewer polls, so the answer is shared (<see cref="WatchReads.States"/>): a channel's state is read from the
    /// database at most once per <see cref="WatchReads.StateLifetime"/> whatever its audience, which delays a page's turn
    /// by at most that. Whether this poller may see it is still decided per request.
    /// </remarks>
    public async Task<IActionResult> OnGetStateAsync(string slug, CancellationToken cancellationToken)
    {
        Response.Headers.CacheControl = "no-store";
        if (!Slugs.IsValid(slug)) return NotFound();
        var state = await reads.States.GetAsync(slug, ReadStateAsync).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (state.Channel is not { } channel)
        {
            return NotFound();
        }

        Channel = channel;
        if (PrivatePlayback.Authorize(this) == WatchAccess.Refused)
        {
            return new JsonResult(new { mode = "private", recording = (string?)null });
        }

        return state.Mode is { } mode ? new JsonResult(new { mode, recording = state.Recording }) : NotFound();
    }

    /// <summary>A channel's state as the poll answers it, for every poller alike (the read is shared: no request's cancellation).</summary>
    private async Task<WatchState> ReadStateAsync(string slug)
    {
        if (await FindAsync(slug, CancellationToken.None).ConfigureAwait(false) is not { } channel) return new WatchState(null, null, null);
        return await ResolveAsync(channel, null, CancellationToken.None).ConfigureAwait(false)
            ? new WatchState(channel, Mode, Recording?.Id)
            : new WatchState(channel, null, null);
    }

    /// <summary>
    /// <c>?handler=ChatReplay&amp;recording={id}</c>: the chat of a recorded broadcast, in the order and at the wall-clock
    /// times viewers saw it (Unix milliseconds), with the broadcast's start. The player shows each message when its
    /// program date-time reaches the message's time. A private channel answers only with the page's viewing token.
    /// </summary>
    public async Task<IActionResult> OnGetChatReplayAsync(string slug, string? recording, CancellationToken cancellationToken)
    {
        Response.Headers.CacheControl = "no-store";
        var chat = HttpContext.RequestServices.GetService(typeof(Chat.ChatService)) as Chat.ChatService;
        var recordings = HttpContext.RequestServices.GetService(typeof(Recordings.IRecordingRepository)) as Recordings.IRecordingRepository;
        if (chat is null || recordings is null || recording is null
            || await FindAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel)
        {
            return NotFound();
        }

        Channel = channel;
        if (PrivatePlayback.Authorize(this) == WatchAccess.Refused
            || await recordings.GetAsync(recording, cancellationToken).ConfigureAwait(false) is not { } rec || rec.ChannelId != channel.Id
            || !DateTimeOffset.TryParseExact(rec.BroadcastId, "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal, out var start))
        {
            return NotFound();
        }

        // The broadcast id is its start to the second; the recording is finalised a moment after the last segment.
        // Up to 10,000 rows, asked by every viewer of the recording: one read a recording serves them all a while.
        string channelId = channel.Id;
        var messages = await reads.Replays.GetAsync(rec.Id,
            _ => chat.ReplayAsync(channelId, start.AddSeconds(-1), rec.CreatedAt.AddSeconds(5), CancellationToken.None))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        return new JsonResult(new { start = start.ToUnixTimeMilliseconds(), durationMs = rec.DurationMs, messages });
    }

    // Anonymous and asked by every viewer: the lookup is shared for a moment (ChannelService.SharedLookupLifetime).
    private async Task<Channel?> FindAsync(string slug, CancellationToken cancellationToken)
        => Slugs.IsValid(slug) ? await channels.GetBySlugSharedAsync(slug).WaitAsync(cancellationToken).ConfigureAwait(false) : null;

    /// <summary>A clip plays like a recording (video on demand, no state to poll), from its playlists under the channel's path.</summary>
    private async Task<bool> ResolveClipAsync(Channel channel, string clip, CancellationToken cancellationToken)
    {
        if (HttpContext.RequestServices.GetService(typeof(Broadcast.Control.Clips.ClipService)) is not Broadcast.Control.Clips.ClipService clips
            || clip.Length > 64 || await clips.GetAsync(channel.Id, clip, cancellationToken).ConfigureAwait(false) is not { } found)
        {
            return false;
        }

        Clip = found;
        Mode = "recording";
        Source = $"/live/{channel.Slug}/clips/{found.Id}/master.m3u8";
        return true;
    }

    private async Task<bool> ResolveAsync(Channel channel, string? recording, CancellationToken cancellationToken)
    {
        var recordings = await schedule.ListRecordingsAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        if (recording is not null)
        {
            Recording = recordings.FirstOrDefault(r => r.Id == recording);
            if (Recording is null)
            {
                return false;
            }

            Mode = "recording";
            Source = SameOrigin(Recording.HlsUrl);
            return true;
        }

        var now = time.GetUtcNow();
        var events = await schedule.ListEventsAsync(now.AddDays(-7), now.AddDays(60), channel.Id, cancellationToken).ConfigureAwait(false);
        var state = await live.GetAsync(channel, cancellationToken).ConfigureAwait(false);
        Event = events.FirstOrDefault(e => e.StartsAt <= now && now < e.EndsAt && e.State != "cancelled");
        if (state.Online)
        {
            Mode = "live";
            Source = $"/live/{channel.Slug}/master.m3u8";
            RewindSeconds = state.RewindSeconds ?? 0;
            return true;
        }

        var next = events.FirstOrDefault(e => e.StartsAt > now && e.State is "scheduled" or "ready");
        var last = events.Where(e => e.EndsAt <= now || e.State is "ended" or "cancelled").OrderByDescending(e => e.EndsAt).FirstOrDefault();
        if (Event is not null)
        {
            // Inside the window but the encoder is not (yet, or any more) connected.
            Mode = "countdown";
        }
        else if (next is not null && (last is null || next.StartsAt - now < now - last.EndsAt))
        {
            Event = next;
            Mode = "countdown";
        }
        else if (last is not null)
        {
            Event = last;
            Mode = last.State == "cancelled" ? "cancelled" : "ended";
            Recording = recordings.Where(r => r.EventId == last.Id).OrderByDescending(r => r.EndedAt).FirstOrDefault();
        }

        return true;
    }

    /// <summary>"/live/{channel}/recordings/{broadcast}/master.m3u8" → ".../poster.jpg" beside it.</summary>
    private static string PosterOf(string recordingPlaylist) => recordingPlaylist[..(recordingPlaylist.LastIndexOf('/') + 1)] + "poster.jpg";

    // Recording URLs may be absolute (Public:HttpBaseUrl); the page plays them from its own origin.
    private static string SameOrigin(string url)
        => Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" ? u.PathAndQuery : url;
}

/// <summary>What the watch page's state poll answers for a channel: null <see cref="Channel"/> for none,
/// null <see cref="Mode"/> for not found.</summary>
public sealed record WatchState(Channel? Channel, string? Mode, string? Recording);

/// <summary>
/// The watch page's anonymous reads, shared across its viewers (<see cref="SharedReads{TKey, TValue}"/>): the state poll
/// (every open page asks every 4 s, and each answer took four database queries) and a recording's chat replay (up to
/// thousands of rows a call).
/// </summary>
public sealed class WatchReads(TimeProvider time)
{
    /// <summary>How long one channel's state stands: well inside the page's 4 s poll.</summary>
    public static readonly TimeSpan StateLifetime = TimeSpan.FromSeconds(2);

    /// <summary>Channels (or made-up slugs) whose state is remembered at once.</summary>
    public const int StateCapacity = 10_000;

    /// <summary>Each channel's state as the poll answers it, by slug.</summary>
    public SharedReads<string, WatchState> States { get; } = new(StateLifetime, StateCapacity, time);

    /// <summary>How long a recording's chat replay stands: a message moderated away afterwards leaves the replay within it.</summary>
    public static readonly TimeSpan ReplayLifetime = TimeSpan.FromSeconds(30);

    /// <summary>Recordings whose chat replay is remembered at once (each up to the replay's row limit).</summary>
    public const int ReplayCapacity = 32;

    /// <summary>Each recording's chat replay, by recording id.</summary>
    public SharedReads<string, IReadOnlyList<Chat.ChatMessageView>> Replays { get; } = new(ReplayLifetime, ReplayCapacity, time);
}
