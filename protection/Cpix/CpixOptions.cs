using System.Net;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// <c>Protection:Cpix</c>: the key server a node asks for its protected broadcasts' keys (CPIX 2.3 over HTTP POST, as AWS
/// SPEKE v2.0). A node setting, not a channel's: with <see cref="Url"/> set, every <c>cenc</c> and <c>cbcs</c> channel this
/// node packages takes its key from that server (docs/protection.md); unset, the built-in ClearKey provider gives them.
/// </summary>
public sealed class CpixOptions
{
    public const string Section = "Protection:Cpix";

    public static readonly UInt128 Widevine = CpixRequest.ParseUuid("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed")!.Value;
    public static readonly UInt128 PlayReady = CpixRequest.ParseUuid("9a04f079-9840-4286-ab92-e65be0885f95")!.Value;
    public static readonly UInt128 FairPlay = CpixRequest.ParseUuid("94ce86fb-07ff-4f43-adb8-93d2fa968ca2")!.Value;
    public static readonly UInt128 CommonSystem = CpixRequest.ParseUuid("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b")!.Value;

    /// <summary>The key server's URL (https; http only to a loopback address). Unset: no CPIX.</summary>
    public string? Url { get; set; }

    /// <summary>The DRM systems asked for, by name (<c>widevine</c>, <c>playready</c>, <c>fairplay</c>, <c>clearkey</c>: the
    /// W3C common system) or system ID. Each one's pssh goes into the init segments and the MPD (FairPlay has none), and the
    /// HLS key tags its key server gives into the playlists.</summary>
    /// <remarks>Null by default rather than the default list: the configuration binder adds to an array it finds, so a
    /// configured list would follow the default one instead of replacing it.</remarks>
    public string[]? Systems { get; set; }

    /// <summary>What <see cref="Systems"/> unset asks for.</summary>
    public static readonly string[] DefaultSystems = ["widevine", "playready"];

    /// <summary>A header sent with every request, for the key server's authentication (e.g. <c>Authorization</c> with
    /// <c>Bearer …</c>, or <c>x-api-key</c>); none when <see cref="HeaderValue"/> is unset.</summary>
    public string HeaderName { get; set; } = "Authorization";

    public string? HeaderValue { get; set; }

    /// <summary>How long the whole exchange (connect, request, answer) may take before the broadcast is refused.</summary>
    public double TimeoutSeconds { get; set; } = 5;

    /// <summary>The longest answer read; a longer one is refused unread past this.</summary>
    public int MaxResponseBytes { get; set; } = 1024 * 1024;

    /// <summary>The PEM certificate sent in the request's <c>cpix:DeliveryKey</c> so that the key server encrypts its keys
    /// to it (CPIX 2.3 §5.3.2); with <see cref="RecipientPrivateKeyPath"/>, both or neither. Unset: keys come as
    /// <c>pskc:PlainValue</c>, over the https the URL must be.</summary>
    public string? RecipientCertificatePath { get; set; }

    /// <summary>The PEM RSA private key (at least 2048 bits) of <see cref="RecipientCertificatePath"/>'s certificate.</summary>
    public string? RecipientPrivateKeyPath { get; set; }

    /// <summary>The PEM certificate whose key signs every request (CPIX 2.3 §"Digital Signature": the document signed as a
    /// whole, the certificate in the signature), for a key server that authenticates its callers so; with
    /// <see cref="SigningPrivateKeyPath"/>, both or neither. Unset: requests go unsigned, authenticated by the URL's https
    /// and <see cref="HeaderValue"/> alone.</summary>
    public string? SigningCertificatePath { get; set; }

    /// <summary>The PEM RSA private key (at least 2048 bits; CPIX recommends 3072) of <see cref="SigningCertificatePath"/>'s
    /// certificate.</summary>
    public string? SigningPrivateKeyPath { get; set; }

    /// <summary>The PEM certificate of the key server's signing key: set, an answer is taken only signed as a whole by that
    /// key (<see cref="CpixAnswerSignature"/>; CPIX 2.3 §"Digital Signature"), so that keys and pssh come from the key server
    /// and not from whatever sits on the way to it. Unset: answers are trusted on the URL's https.</summary>
    public string? KeyServerCertificatePath { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Url);

    /// <summary>The recipient key, loaded and checked; null when neither path is set.</summary>
    public CpixRecipient? Recipient()
    {
        return IsSet(RecipientCertificatePath, RecipientPrivateKeyPath, nameof(RecipientCertificatePath), nameof(RecipientPrivateKeyPath))
            ? CpixRecipient.Load(RecipientCertificatePath!, RecipientPrivateKeyPath!) : null;
    }

    /// <summary>The request signer, loaded and checked; null when neither path is set.</summary>
    public CpixSigner? Signer()
    {
        return IsSet(SigningCertificatePath, SigningPrivateKeyPath, nameof(SigningCertificatePath), nameof(SigningPrivateKeyPath))
            ? CpixSigner.Load(SigningCertificatePath!, SigningPrivateKeyPath!) : null;
    }

    /// <summary>Whether a certificate and key pair of settings is set; one without the other stops the start.</summary>
    private static bool IsSet(string? certificatePath, string? keyPath, string certificateSetting, string keySetting)
    {
        bool certificate = !string.IsNullOrWhiteSpace(certificatePath), key = !string.IsNullOrWhiteSpace(keyPath);
        if (certificate != key)
            throw new InvalidOperationException($"{Section}:{certificateSetting} and {Section}:{keySetting} are set both or neither");
        return certificate;
    }

    /// <summary>The system IDs of <see cref="Systems"/>, in order, checked.</summary>
    public IReadOnlyList<UInt128> SystemIds()
    {
        var ids = new List<UInt128>();
        foreach (string system in Systems ?? DefaultSystems)
        {
            UInt128 id = system.Trim().ToLowerInvariant() switch
            {
                "widevine" => Widevine,
                "playready" => PlayReady,
                "fairplay" => FairPlay,
                "clearkey" or "common" => CommonSystem,
                var other => CpixRequest.ParseUuid(other)
                    ?? throw new InvalidOperationException($"{Section}:Systems: '{system}' is neither widevine, playready, fairplay, clearkey nor a system ID"),
            };
            if (!ids.Contains(id)) ids.Add(id);
        }
        if (ids.Count == 0) throw new InvalidOperationException($"{Section}:Systems names no DRM system");
        return ids;
    }

    /// <summary>The check of the key server's answers' signature, its certificate loaded and checked; null when unset.</summary>
    public CpixAnswerSignature? AnswerSignature() =>
        KeyServerCertificatePath is null ? null : CpixAnswerSignature.Load(KeyServerCertificatePath);

    /// <summary>The settings checked at start, so a node with a wrong one does not start rather than refusing every broadcast:
    /// <see cref="ValidateSettings"/>, and the key pairs and the key server's certificate loaded and checked.</summary>
    public Uri Validate()
    {
        var url = ValidateSettings();
        Recipient()?.Dispose();
        Signer()?.Dispose();
        AnswerSignature()?.Dispose();
        return url;
    }

    /// <summary>Every setting but the key pairs' files (each pair's paths set both or neither): for the provider, which loads
    /// those once itself through <see cref="Recipient"/> and <see cref="Signer"/>.</summary>
    public Uri ValidateSettings()
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var url))
            throw new InvalidOperationException($"{Section}:Url is not an absolute URL");
        bool loopback = url.IsLoopback || (IPAddress.TryParse(url.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && loopback))
            throw new InvalidOperationException($"{Section}:Url must be https (http only to a loopback address): keys travel in its answers");
        if (!string.IsNullOrEmpty(url.UserInfo)) throw new InvalidOperationException($"{Section}:Url must not carry credentials: use HeaderValue");
        if (TimeoutSeconds is not (> 0 and <= 60)) throw new InvalidOperationException($"{Section}:TimeoutSeconds must be over 0 and at most 60");
        if (MaxResponseBytes is < 1024 or > 16 * 1024 * 1024)
            throw new InvalidOperationException($"{Section}:MaxResponseBytes must be 1 KiB to 16 MiB");
        if (HeaderValue is not null && string.IsNullOrWhiteSpace(HeaderName)) throw new InvalidOperationException($"{Section}:HeaderName is empty");
        _ = SystemIds();
        _ = IsSet(RecipientCertificatePath, RecipientPrivateKeyPath, nameof(RecipientCertificatePath), nameof(RecipientPrivateKeyPath));
        _ = IsSet(SigningCertificatePath, SigningPrivateKeyPath, nameof(SigningCertificatePath), nameof(SigningPrivateKeyPath));
        return url;
    }
}
