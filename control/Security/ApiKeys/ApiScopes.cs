using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Broadcast.Control.Security.ApiKeys;

/// <summary>
/// The scopes an API key may hold: one read and one write scope per group of admin routes (a route group's GETs need
/// its read scope, everything else its write scope). The admin token and admin sessions hold them all.
/// </summary>
public static class ApiScopes
{
    public const string ChannelsRead = "channels:read";
    public const string ChannelsWrite = "channels:write";
    public const string EventsRead = "events:read";
    public const string EventsWrite = "events:write";
    public const string RecordingsRead = "recordings:read";
    public const string RecordingsWrite = "recordings:write";
    public const string ClipsRead = "clips:read";
    public const string ClipsWrite = "clips:write";
    public const string BreaksWrite = "breaks:write";
    public const string ChatModerate = "chat:moderate";
    public const string PlaybackRead = "playback:read";
    public const string PlaybackWrite = "playback:write";
    public const string SteeringRead = "steering:read";
    public const string SteeringWrite = "steering:write";
    public const string WebhooksRead = "webhooks:read";
    public const string WebhooksWrite = "webhooks:write";

    /// <summary>Every scope, in the order the dashboard and the docs list them.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        ChannelsRead, ChannelsWrite, EventsRead, EventsWrite, RecordingsRead, RecordingsWrite, ClipsRead, ClipsWrite, BreaksWrite,
        ChatModerate, PlaybackRead, PlaybackWrite, SteeringRead, SteeringWrite, WebhooksRead, WebhooksWrite,
    ];

    private static readonly HashSet<string> Known = new(All, StringComparer.Ordinal);

    public static bool IsKnown(string scope) => Known.Contains(scope);

    /// <summary>
    /// The routes need <paramref name="read"/> for GET and HEAD and <paramref name="write"/> for every other method. When
    /// <paramref name="channelRouteValue"/> names the route value holding a channel id, a key limited to channels may use
    /// them for its channels; without it, or on a route that lacks the value, only keys for every channel may.
    /// </summary>
    public static TBuilder RequireScopes<TBuilder>(this TBuilder builder, string read, string write, string? channelRouteValue = null)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(new ApiScopeMetadata(read, write, channelRouteValue)));
        return builder;
    }

    /// <summary>Every method of the routes needs <paramref name="scope"/>.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope, string? channelRouteValue = null)
        where TBuilder : IEndpointConventionBuilder => builder.RequireScopes(scope, scope, channelRouteValue);

    /// <summary>
    /// The routes read across channels (a list, or one item that belongs to a channel) and answer a key limited to channels
    /// with its channels' items only (<see cref="ApiKeyClaims.LimitedChannels"/>): GET and HEAD open to such a key; other
    /// methods still need a key for every channel.
    /// </summary>
    public static TBuilder FilteredToKeyChannels<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(ChannelFilteredMetadata.Instance));
        return builder;
    }

    /// <summary>
    /// The routes are the operator's alone (accounts, API keys themselves, the dashboard): no API key opens them, whatever
    /// its scopes.
    /// </summary>
    public static TBuilder AdminOnly<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Add(endpoint => endpoint.Metadata.Add(AdminOnlyMetadata.Instance));
        return builder;
    }
}

/// <summary>What an admin route needs of an API key (see <see cref="ApiScopes.RequireScopes{TBuilder}"/>).</summary>
public sealed record ApiScopeMetadata(string ReadScope, string WriteScope, string? ChannelRouteValue)
{
    public string ScopeFor(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) ? ReadScope : WriteScope;
}

/// <summary>Marks a read route that filters its answer to a limited key's channels (see <see cref="ApiScopes.FilteredToKeyChannels{TBuilder}"/>).</summary>
public sealed class ChannelFilteredMetadata
{
    public static ChannelFilteredMetadata Instance { get; } = new();

    private ChannelFilteredMetadata()
    {
    }
}

/// <summary>Marks a route no API key may use (see <see cref="ApiScopes.AdminOnly{TBuilder}"/>).</summary>
public sealed class AdminOnlyMetadata
{
    public static AdminOnlyMetadata Instance { get; } = new();

    private AdminOnlyMetadata()
    {
    }
}
