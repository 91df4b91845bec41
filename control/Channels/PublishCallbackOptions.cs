using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Channels;

/// <summary>What the server does with a publish when the platform's callback cannot answer (timeout, 5xx, bad answer).</summary>
public enum PublishCallbackFailure
{
    /// <summary>The publish is refused: nobody publishes unless the platform said yes.</summary>
    Refuse,

    /// <summary>The publish goes on as if the callback had said yes: the platform's outage does not stop live events.</summary>
    Allow,
}

/// <summary>
/// <c>PublishCallback:*</c>: the platform's URL that authorizes every publish (RTMP, RTMPS, SRT, WHIP) after the stream key
/// and schedule checks pass (<see cref="PublishPolicy"/>). Off when <c>Url</c> is empty.
/// </summary>
public sealed record PublishCallbackOptions
{
    public const string SectionName = "PublishCallback";

    /// <summary><c>PublishCallback:Url</c>: http or https; checked by the outbound policy (<c>Outbound:*</c>) on every connect.</summary>
    public Uri? Url { get; init; }

    /// <summary><c>PublishCallback:TimeoutMilliseconds</c>: how long an answer may take, headers and body (default 1,500: an SRT handshake waits at most 2 s for its decision).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(1500);

    /// <summary><c>PublishCallback:OnFailure</c>: <c>refuse</c> (default) or <c>allow</c>.</summary>
    public PublishCallbackFailure OnFailure { get; init; } = PublishCallbackFailure.Refuse;

    /// <summary>
    /// <c>PublishCallback:CacheSeconds</c>: an answer is kept this long for the same channel, key, protocol and address, so
    /// an encoder's reconnect storm asks once (default 10; 0 asks every time). A failure is kept at most 2 s.
    /// </summary>
    public TimeSpan CacheFor { get; init; } = TimeSpan.FromSeconds(10);

    public bool Enabled => Url is not null;

    public static PublishCallbackOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);
        var defaults = new PublishCallbackOptions();
        Uri? url = null;
        if (section["Url"] is { Length: > 0 } text)
        {
            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
                throw new InvalidOperationException($"{SectionName}:Url '{text}' must be an absolute http or https URL.");
            if (url.UserInfo.Length > 0)
                throw new InvalidOperationException($"{SectionName}:Url must not carry credentials; authenticate the platform's receiver another way.");
        }

        return new PublishCallbackOptions
        {
            Url = url,
            Timeout = TimeSpan.FromMilliseconds(Whole(section, "TimeoutMilliseconds", (int)defaults.Timeout.TotalMilliseconds, 100, 30_000)),
            CacheFor = TimeSpan.FromSeconds(Whole(section, "CacheSeconds", (int)defaults.CacheFor.TotalSeconds, 0, 3600)),
            OnFailure = section["OnFailure"] is { Length: > 0 } failure
                ? failure.Trim().ToLowerInvariant() switch
                {
                    "refuse" => PublishCallbackFailure.Refuse,
                    "allow" => PublishCallbackFailure.Allow,
                    _ => throw new InvalidOperationException($"{SectionName}:OnFailure '{failure}' must be 'refuse' or 'allow'."),
                }
                : defaults.OnFailure,
        };
    }

    private static int Whole(IConfigurationSection section, string key, int fallback, int min, int max)
    {
        if (section[key] is not { Length: > 0 } text) return fallback;
        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
            ? value
            : throw new InvalidOperationException($"{SectionName}:{key} '{text}' must be a whole number from {min} to {max}.");
    }
}
