using Broadcast.Control.Channels;
using Broadcast.Ingest;

namespace Broadcast.Server;

/// <summary>Lets a stream key publish when it belongs to a channel that is not revoked; the stream is named after the channel's slug.</summary>
internal sealed class ChannelPublishAuthorizer(ChannelService channels) : IPublishAuthorizer
{
    public async ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.App, "live", StringComparison.Ordinal))
            return PublishDecision.Deny($"unknown application '{Truncate(request.App)}': publish to rtmp://HOST/live");
        var lookup = await channels.FindByStreamKeyAsync(request.StreamKey, cancellationToken).ConfigureAwait(false);
        return lookup.Channel is { } channel
            ? PublishDecision.Allow(channel.Slug, channel.Id)
            : PublishDecision.Deny(lookup.Reason ?? "stream key refused");
    }

    private static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
