using System.Globalization;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Clips;
using Broadcast.Control.Persistence;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// A channel's clips (issue #49): the list with a share link (the watch page plays a clip), rename and delete, and the
/// forms that cut one: the last seconds of the live window, or the range marked in and out on the channel page's preview.
/// </summary>
public sealed class ClipsModel(ChannelService channels, ClipService clips, PublicUrls urls) : PageModel
{
    /// <summary>The "last seconds" choices the page offers; the API takes any range up to <c>Clips:MaxSeconds</c>.</summary>
    public static readonly int[] LastSecondsChoices = [15, 30, 60, 120];

    public Channel Channel { get; private set; } = null!;

    public IReadOnlyList<Clip> Clips { get; private set; } = [];

    [TempData]
    public string? Flash { get; set; }

    /// <summary>The watch page of a clip: where a producer's share link points (any browser, private channels ask for a token).</summary>
    public string WatchPath(Clip clip) => $"/watch/{Channel.Slug}?clip={clip.Id}";

    /// <summary>The share link: the clip's watch page as an absolute URL.</summary>
    public string WatchUrl(Clip clip) => urls.HttpBase(Request) + WatchPath(clip);

    /// <summary>The clip's MP4 download (the admin API's route, which the dashboard's session may use); null until it is made.</summary>
    public string? DownloadPath(Clip clip) => clip.DownloadBytes is null ? null : $"/api/channels/{Channel.Id}/clips/{clip.Id}/download";

    public static string Length(Clip clip) => Format.Duration(clip.EndsAt - clip.StartsAt);

    public async Task<IActionResult> OnGetAsync(string id, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return NotFound();
        Channel = channel;
        Clips = await clips.ListAsync(id, cancellationToken).ConfigureAwait(false) ?? [];
        return Page();
    }

    /// <summary>
    /// Cuts a clip: <paramref name="lastSeconds"/> of the live window up to its edge, or <paramref name="from"/> to
    /// <paramref name="to"/> (the program date-times the channel page's preview marked, ISO 8601 UTC). Back to
    /// <paramref name="back"/> (the channel page, when it asked) with what happened.
    /// </summary>
    public async Task<IActionResult> OnPostCreateAsync(string id, int? lastSeconds, string? from, string? to, string? title, string? back,
        CancellationToken cancellationToken)
    {
        string returnTo = back == "channel" ? $"/dashboard/channels/{id}" : $"/dashboard/channels/{id}/clips";
        ClipSpec spec;
        if (lastSeconds is { } seconds)
        {
            if (seconds <= 0)
            {
                Flash = "No clip was made: give a number of seconds above 0.";
                return Redirect(returnTo);
            }
            spec = new ClipSpec(ClipPoint.FromEnd(-seconds), ClipPoint.FromEnd(0), title, null);
        }
        else if (RequestBodies.TryParseUtc(from, out var fromAt, out _) && RequestBodies.TryParseUtc(to, out var toAt, out _))
        {
            spec = new ClipSpec(ClipPoint.Time(fromAt), ClipPoint.Time(toAt), title, null);
        }
        else
        {
            Flash = "No clip was made: mark in and mark out on the preview first (or choose the last seconds).";
            return Redirect(returnTo);
        }

        try
        {
            if (await clips.CreateAsync(id, spec, cancellationToken).ConfigureAwait(false) is not { } made) return NotFound();
            var clip = made.Clip;
            Flash = string.Create(CultureInfo.InvariantCulture,
                $"Clip \"{clip.Title}\" made: {Length(clip)} from {clip.StartsAt.UtcDateTime:HH:mm:ss} UTC.");
        }
        catch (Refusal e)
        {
            Flash = "No clip was made: " + FormErrors.Sentence(e);
        }
        return Redirect(returnTo);
    }

    public async Task<IActionResult> OnPostRenameAsync(string id, string clipId, string? title, CancellationToken cancellationToken)
    {
        try
        {
            if (await clips.RenameAsync(id, clipId, title, cancellationToken).ConfigureAwait(false) is null) return NotFound();
            Flash = $"Clip renamed \"{title!.Trim()}\".";
        }
        catch (Refusal e)
        {
            Flash = "The clip was not renamed: " + FormErrors.Sentence(e);
        }
        return Redirect($"/dashboard/channels/{id}/clips");
    }

    public async Task<IActionResult> OnPostDeleteAsync(string id, string clipId, CancellationToken cancellationToken)
    {
        if (!await clips.DeleteAsync(id, clipId, cancellationToken).ConfigureAwait(false)) return NotFound();
        Flash = "Clip deleted.";
        return Redirect($"/dashboard/channels/{id}/clips");
    }
}
