using System.Text.Json;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>The admin API's audience report of a channel's latest broadcast (control/API.md "Audience"), as tests read it.</summary>
internal static class AudienceReports
{
    /// <summary>The channel's latest broadcast's id and its report; null while the channel has no broadcast kept.</summary>
    public static async Task<(string BroadcastId, JsonElement Report)?> LatestAsync(HttpClient admin, string channelId)
    {
        using var list = JsonDocument.Parse(await admin.GetStringAsync($"api/channels/{channelId}/broadcasts"));
        if (list.RootElement.GetArrayLength() == 0) return null;
        string id = list.RootElement[0].GetProperty("broadcastId").GetString()!;
        using var report = JsonDocument.Parse(await admin.GetStringAsync($"api/channels/{channelId}/broadcasts/{id}/audience"));
        return (id, report.RootElement.Clone());
    }
}
