namespace Broadcast.Control.Dashboard.Pages;

/// <summary>
/// The chat panel (<c>Shared/_ChatPanel</c>) beside the watch page's player and on the dashboard's channel page.
/// <paramref name="Mode"/>: <c>live</c> (post and read over the hub) or <c>replay</c> (a recording's chat, timed by its
/// program date-time).
/// </summary>
public sealed record ChatPanel(string Slug, string Mode, string? RecordingId)
{
    /// <summary>Whether this server runs the chat (registered and <c>Chat:Enabled</c>): no panel otherwise.</summary>
    public static bool IsEnabled(Microsoft.AspNetCore.Http.HttpContext context)
        => context.RequestServices.GetService(typeof(Chat.ChatOptions)) is Chat.ChatOptions { Enabled: true };
}
