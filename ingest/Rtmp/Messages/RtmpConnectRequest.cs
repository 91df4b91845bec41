namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What a server takes from a connect command (RTMP 1.0 §7.2.1.1): the application name, without a query or slashes
/// ("live?token=…" and "live/" both mean app "live"), the AMF encoding the client asks replies in (0: AMF0), and the
/// client's <c>flashVer</c> (what the encoder calls itself: "FMLE/3.0 (compatible; obs-studio/30.0)"), at most 100 characters.
/// </summary>
internal readonly record struct RtmpConnectRequest(string App, double ObjectEncoding, string? FlashVer = null)
{
    /// <summary>False with the reason the connection closes on when the command names no usable app.</summary>
    public static bool TryRead(RtmpCommand command, out RtmpConnectRequest request, out string? error)
    {
        request = default;
        string? app = command.GetProperty("app");
        error = app is null ? "connect without an app" : null;
        if (app is null) return false;
        int query = app.IndexOf('?');
        if (query >= 0) app = app[..query];
        app = app.Trim('/');
        error = app.Length == 0 ? "connect with an empty app" : null;
        if (error is not null) return false;
        double encoding = command.CommandObject is AmfObject obj && obj.TryGetValue("objectEncoding", out var enc) && enc is double d ? d : 0;
        string? flashVer = command.GetProperty("flashVer") is { Length: > 0 } version ? version[..Math.Min(version.Length, 100)] : null;
        request = new RtmpConnectRequest(app, encoding, flashVer);
        return true;
    }
}
