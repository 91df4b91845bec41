using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Playback;

namespace Broadcast.Control.Protection;

/// <summary>
/// The content keys of an origin-only node, which holds none: asked of the control node's
/// <see cref="ContentKeyNodeEndpoint"/> with the playback node token, when a viewer who passed this node's playback check
/// asks for a license (the license keeps found keys a minute, so an audience costs one call per key). A control node that
/// does not answer is an exception (the license answers 503), never "no key" (which would count against the viewer).
/// </summary>
public sealed class RemoteContentKeys(RemotePlaybackSettings settings) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        BaseAddress = settings.ControlUrl,
        Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>Those of <paramref name="keyIds"/> (16 bytes each, at most <see cref="ContentKeyStore.MaxKeysPerLookup"/>)
    /// that are keys of the channel whose slug is <paramref name="channel"/>.</summary>
    /// <exception cref="HttpRequestException">The control node did not answer, or refused the node token.</exception>
    public async Task<IReadOnlyList<StoredContentKey>> FindAsync(string channel, IReadOnlyList<byte[]> keyIds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(keyIds);
        var asked = keyIds.Where(k => k.Length == 16).Take(ContentKeyStore.MaxKeysPerLookup).Select(Convert.ToHexStringLower)
            .Distinct(StringComparer.Ordinal).ToList();
        if (asked.Count == 0) return [];
        using var request = new HttpRequestMessage(HttpMethod.Post, ContentKeyNodeEndpoint.Path)
        {
            Content = JsonContent.Create(new ContentKeyNodeRequest(channel, asked), ControlJsonContext.Default.ContentKeyNodeRequest),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", settings.NodeToken);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"The control node answered the content key request {(int)response.StatusCode} {response.ReasonPhrase}.",
                null, response.StatusCode);
        var answer = await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.ContentKeyNodeAnswer, cancellationToken)
            .ConfigureAwait(false);
        var found = new List<StoredContentKey>();
        foreach (var key in answer?.Keys ?? [])
        {
            // Only what was asked, and only well-formed keys: a wrong answer must not become a key a license hands out.
            if (key.Kid is null || !asked.Contains(key.Kid, StringComparer.Ordinal) || key.Key is null) continue;
            byte[] bytes;
            try
            {
                bytes = Base64Url.DecodeFromChars(key.Key);
            }
            catch (FormatException)
            {
                continue;
            }

            if (bytes.Length == 16) found.Add(new StoredContentKey(Convert.FromHexString(key.Kid), bytes));
        }

        return found;
    }

    public void Dispose() => _http.Dispose();
}
