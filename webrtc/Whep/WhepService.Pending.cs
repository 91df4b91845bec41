using System.Net;
using Broadcast.Refusals;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// The sessions that have not connected yet: a newcomer's admission, which ends the oldest of them when the node is full,
/// and the connect deadline that ends each one whose viewer never connects.
/// </summary>
public sealed partial class WhepService
{
    /// <summary>
    /// Takes a place for an offer from <paramref name="client"/>, or throws <see cref="Refusal"/>. When the node is
    /// full, of viewers or of sessions that have not connected, the oldest session that has not connected
    /// <see cref="EvictionGrace"/> after its answer is ended (the usual teardown) and the newcomer takes its place: offers
    /// that never connect cannot keep a connecting viewer out, and a connected viewer is never ended for one.
    /// </summary>
    private async Task AdmitAsync(string channel, IPAddress? client)
    {
        for (int evictions = 0; ; evictions++)
        {
            var result = _admission.TryEnter(client);
            if (result == WhepAdmissionResult.Admitted) return;
            if (result is not (WhepAdmissionResult.NodeFull or WhepAdmissionResult.NodePendingFull) || evictions == MaxEvictionsPerOffer
                || TakeOldestPending() is not { } oldest)
                throw _admission.Refusal(result, channel);

            _admission.Evicting(oldest.Channel, oldest.Id, (int)_time.GetElapsedTime(oldest.AnsweredAt).TotalMilliseconds);
            await CloseAsync(oldest, "ended unconnected to make room for a new viewer", detach: true).ConfigureAwait(false);
        }
    }

    /// <summary>Removes and returns the session answered longest ago that has not connected, if it is past <see cref="EvictionGrace"/>.</summary>
    private WhepSession? TakeOldestPending()
    {
        var grace = EvictionGrace < _options.ConnectTimeout ? EvictionGrace : _options.ConnectTimeout;
        lock (_gate)
        {
            WhepSession? oldest = null;
            foreach (var session in _sessions.Values)
            {
                if (!session.Connected && (oldest is null || session.AnsweredAt < oldest.AnsweredAt)) oldest = session;
            }

            if (oldest is null || _time.GetElapsedTime(oldest.AnsweredAt) < grace) return null;
            _sessions.Remove(oldest.Id);
            _handles.Forget(oldest.Janus, oldest.Handle);
            return oldest;
        }
    }

    /// <summary>
    /// A session whose viewer never connected is ended after <see cref="WhepOptions.ConnectTimeout"/>, or after
    /// <see cref="PressureConnectTimeout"/> when it was answered under pressure (<see cref="WhepAdmission.UnderPressure"/>):
    /// it frees its place, and its Janus handle and sockets, soon after a flood of offers that never connect stops.
    /// </summary>
    private async Task EndIfNeverConnectedAsync(WhepSession session)
    {
        var timeout = _admission.UnderPressure && PressureConnectTimeout < _options.ConnectTimeout ? PressureConnectTimeout : _options.ConnectTimeout;
        await Task.Delay(timeout, _time).ConfigureAwait(false);
        lock (_gate)
        {
            if (session.Connected || !_sessions.Remove(session.Id)) return;
            _handles.Forget(session.Janus, session.Handle);
        }

        await CloseAsync(session, $"no WebRTC connection within {timeout.TotalSeconds:0} s", detach: true).ConfigureAwait(false);
    }
}
