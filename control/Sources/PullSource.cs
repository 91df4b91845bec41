namespace Broadcast.Control.Sources;

/// <summary>A URL a channel or an event takes its input from instead of a publisher. <see cref="Loop"/>: a file plays again and again.</summary>
/// <param name="AllowUntrustedCertificate">rtmps:// and https:// only: accept a certificate that does not validate (test servers).</param>
public sealed record PullSource(string Url, bool Loop, DateTimeOffset UpdatedAt, bool AllowUntrustedCertificate = false);

/// <summary>What should pull into a channel right now. <see cref="Key"/> changes whenever the assignment does (another owner,
/// an edited source).</summary>
public sealed record PullAssignment(string ChannelId, string Slug, string Url, bool Loop, string Key, bool AllowUntrustedCertificate = false)
{
    public static string ChannelKey(string channelId, PullSource source) => $"channel:{channelId}:{source.UpdatedAt.UtcTicks}";

    public static string EventKey(string eventId, PullSource source) => $"event:{eventId}:{source.UpdatedAt.UtcTicks}";
}

/// <summary>The state of the pull running (or last run) on a channel, as the node running it reports it.</summary>
/// <param name="State">starting | live | retrying | stopped | failed.</param>
/// <param name="Source">The URL as safe to show (no stream key, token or query).</param>
public sealed record PullSourceStatus(string Key, string State, string? Reason, int Attempts, DateTimeOffset Since, DateTimeOffset? NextAttemptAt,
    string Source, string? Detail);

/// <summary>
/// Runs pull sources; the server implements it with the transcoder's supervisor. The control plane calls <see cref="Apply"/>
/// with everything that should pull now and reads the states back.
/// </summary>
public interface IPullSourceRunner
{
    /// <summary>False on a node that runs no pulls: it takes no channel's lease for one.</summary>
    bool RunsPulls => true;

    void Apply(IReadOnlyList<PullAssignment> assignments);

    PullSourceStatus? Find(string slug);
}

/// <summary>A node that runs no pulls (control only, or <c>Pull:Enabled=false</c>).</summary>
internal sealed class NoPullSourceRunner : IPullSourceRunner
{
    public bool RunsPulls => false;

    public void Apply(IReadOnlyList<PullAssignment> assignments)
    {
    }

    public PullSourceStatus? Find(string slug) => null;
}

/// <summary>Checks a pull URL before it is stored; the message completes "The url …". The server registers the pipeline's own rules.</summary>
public interface IPullSourceValidator
{
    bool IsValid(string url, out string error);
}

/// <summary>The control plane's own check when no pipeline rules are registered: a supported scheme.</summary>
internal sealed class SchemePullSourceValidator : IPullSourceValidator
{
    private static readonly string[] Schemes = ["rtmp://", "rtmps://", "srt://", "http://", "https://", "file:"];

    public bool IsValid(string url, out string error)
    {
        error = "";
        if (Schemes.Any(s => url.StartsWith(s, StringComparison.OrdinalIgnoreCase)) && url.Length > 7) return true;
        error = "must start with rtmp://, rtmps://, srt://, http(s):// (HLS) or file:PATH.";
        return false;
    }
}
