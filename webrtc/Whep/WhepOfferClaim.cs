using System.Net;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Rtp;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// What one WHEP offer holds while it is answered: its admission place, its channel's source, and once they are made, its
/// RTP socket and its NoSIP handle on Janus. Disposing gives them all back, newest first, unless <see cref="Keep"/> handed
/// them to the session that now owns them: every way out of an answer that fails (a refusal, Janus's error, the
/// viewer's cancellation) leaves nothing behind.
/// </summary>
internal sealed class WhepOfferClaim : IAsyncDisposable
{
    private readonly WhepChannelSources _channels;
    private readonly WhepAdmission _admission;
    private readonly IPAddress? _client;
    private bool _kept;

    /// <summary>Takes <paramref name="channel"/>'s source for an offer already admitted (its place in <paramref name="admission"/>).</summary>
    public WhepOfferClaim(WhepChannelSources channels, WhepAdmission admission, string channel, IPAddress? client)
    {
        _channels = channels;
        _admission = admission;
        _client = client;
        Channel = channel;
        Source = channels.Acquire(channel);
    }

    public string Channel { get; }

    /// <summary>The channel's RTP source (and on an origin-only node its relay), held for this offer.</summary>
    public WhepChannelSource Source { get; }

    /// <summary>The viewer's RTP socket, once bound.</summary>
    public RtpViewer? Viewer { get; private set; }

    /// <summary>The Janus session the handle is on, once attached.</summary>
    public IJanusSession? Janus { get; private set; }

    /// <summary>The NoSIP handle, once attached (0 before).</summary>
    public long Handle { get; private set; }

    /// <summary>Attaches the offer's NoSIP handle on <paramref name="janus"/>, given back with the claim.</summary>
    public async Task<long> AttachAsync(IJanusSession janus, CancellationToken cancellationToken)
    {
        Janus = janus;
        Handle = await janus.AttachAsync(NoSipBridge.Plugin, cancellationToken).ConfigureAwait(false);
        return Handle;
    }

    /// <summary>Binds the viewer's RTP socket, given back with the claim.</summary>
    public RtpViewer BindViewer() => Viewer = RtpViewer.Bind();

    /// <summary>The session took everything over: disposing gives nothing back.</summary>
    public void Keep() => _kept = true;

    public async ValueTask DisposeAsync()
    {
        if (_kept) return;
        _kept = true;
        Viewer?.Dispose();
        if (Janus is not null && Handle != 0) await Janus.DetachQuietlyAsync(Handle).ConfigureAwait(false);
        _channels.Release(Channel);
        _admission.Leave(_client, pending: true);
    }
}
