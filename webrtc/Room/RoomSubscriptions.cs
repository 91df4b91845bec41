using Broadcast.Refusals;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Room;

/// <summary>
/// How the participants of this node's rooms see each other: one VideoRoom subscriber handle per subscription, owned by the
/// participant that asked for it. A subscription ends when its owner ends it, when its owner or the participant it shows
/// leaves, when Janus hangs its handle up, or when Janus stops (its handles went with it). Who may subscribe to whom is
/// <see cref="RoomService"/>'s.
/// </summary>
internal sealed class RoomSubscriptions
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    // The same subscriptions by their VideoRoom subscriber handle, changed with them under _gate.
    private readonly JanusHandles<Subscription> _handles = new();

    /// <summary>
    /// Subscribes <paramref name="ownerId"/> to <paramref name="targetId"/>, publisher <paramref name="feed"/> of Janus room
    /// <paramref name="roomId"/>: the subscription's id and Janus's offer. Throws <see cref="Refusal"/> (429) when the owner
    /// already holds <paramref name="limit"/>, <see cref="JanusApiException"/> when Janus refused (nothing is left attached).
    /// </summary>
    public async Task<RoomOffer> OpenAsync(string channel, string ownerId, string targetId, IJanusSession janus, long roomId, long feed, int limit,
        CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_subscriptions.Values.Count(s => s.OwnerId == ownerId) >= limit)
                throw Refuse.TooMany("this participant holds its limit of subscriptions; end some first");
        }

        long handle = 0;
        try
        {
            handle = await janus.AttachAsync(VideoRoomRequests.Plugin, cancellationToken).ConfigureAwait(false);
            string offer = await VideoRoomRequests.JoinSubscriberAsync(janus, handle, roomId, feed, cancellationToken).ConfigureAwait(false);
            var subscription = new Subscription(RandomTokens.New(16), channel, ownerId, targetId, janus, handle);
            lock (_gate)
            {
                _subscriptions[subscription.Id] = subscription;
                _handles.Track(janus, handle, subscription);
            }
            handle = 0;
            return new RoomOffer(subscription.Id, offer);
        }
        finally
        {
            if (handle != 0) await janus.DetachQuietlyAsync(handle).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The owner's answer to Janus's offer starts the media; false when <paramref name="subscriptionId"/> is not a subscription
    /// of <paramref name="ownerId"/> in <paramref name="channel"/>'s room. Throws <see cref="Refusal"/>.
    /// </summary>
    public async Task<bool> AnswerAsync(string channel, string? ownerId, string subscriptionId, string answer, CancellationToken cancellationToken)
    {
        Subscription? subscription;
        lock (_gate) _subscriptions.TryGetValue(subscriptionId, out subscription);
        if (subscription is null || subscription.Channel != channel || subscription.OwnerId != ownerId) return false;
        if (!SessionDescription.TryParse(answer, out _, out string error)) throw Refuse.Malformed($"malformed SDP answer: {error}");
        try
        {
            await VideoRoomRequests.StartSubscriberAsync(subscription.Janus, subscription.Handle, answer, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (JanusApiException e)
        {
            throw Refuse.EngineFailed($"the WebRTC engine refused the answer: {e.Message}");
        }
    }

    /// <summary>Ends a subscription of <paramref name="ownerId"/>; false when there is none.</summary>
    public async Task<bool> EndAsync(string channel, string? ownerId, string subscriptionId)
    {
        Subscription? subscription;
        lock (_gate)
        {
            if (!_subscriptions.TryGetValue(subscriptionId, out subscription) || subscription.Channel != channel || subscription.OwnerId != ownerId)
                return false;
            _subscriptions.Remove(subscriptionId);
            _handles.Forget(subscription.Janus, subscription.Handle);
        }

        await subscription.Janus.DetachQuietlyAsync(subscription.Handle).ConfigureAwait(false);
        return true;
    }

    /// <summary>Ends every subscription a participant that left owned or was shown by.</summary>
    public async Task EndAllOfAsync(string participantId)
    {
        List<Subscription> ended;
        lock (_gate)
        {
            ended = [.. _subscriptions.Values.Where(s => s.OwnerId == participantId || s.TargetId == participantId)];
            foreach (var subscription in ended)
            {
                _subscriptions.Remove(subscription.Id);
                _handles.Forget(subscription.Janus, subscription.Handle);
            }
        }

        foreach (var subscription in ended) await subscription.Janus.DetachQuietlyAsync(subscription.Handle).ConfigureAwait(false);
    }

    /// <summary>Janus ended <paramref name="handle"/>: forgets the subscription it was; false when it was none.</summary>
    public bool Forget(IJanusSession janus, long handle)
    {
        lock (_gate)
        {
            if (_handles.Find(janus, handle) is not { } subscription) return false;
            _subscriptions.Remove(subscription.Id);
            _handles.Forget(janus, handle);
            return true;
        }
    }

    /// <summary>Janus stopped: forgets every subscription on <paramref name="janus"/> (nothing to detach, its handles went with it).</summary>
    public void ForgetAll(IJanusSession janus)
    {
        lock (_gate)
        {
            foreach (var gone in _handles.ForgetAllOf(janus)) _subscriptions.Remove(gone.Id);
        }
    }

    private sealed record Subscription(string Id, string Channel, string OwnerId, string TargetId, IJanusSession Janus, long Handle);
}
