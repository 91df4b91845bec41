using System.Net;
using System.Net.Http.Headers;
using Broadcast.Control.Protection;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.OriginOnlyPrivatePlaybackTests;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// The AES-128 HLS key route (<c>GET /live/{channel}/key/{kid}</c>, docs/protection.md) on an origin-only node, as
/// <see cref="OriginOnlyClearKeyLicenseTests"/> does for the license: the node holds no content keys, checks the viewer's
/// playback authorization itself and asks the control node for the key with the playback node token; a control node that
/// does not answer makes it 503 with Retry-After. Two real applications on loopback.
/// </summary>
public sealed class OriginOnlyHlsKeyTests
{
    [Fact]
    public async Task An_origin_only_node_answers_the_key_route_with_the_control_nodes_keys_under_its_own_playback_check()
    {
        var control = await InProcessServer.StartAsync();
        bool controlStopped = false;
        try
        {
            string open = await CreateChannelAsync(control, "Open Aes", privatePlayback: false);
            string members = await CreateChannelAsync(control, "Members Aes", privatePlayback: true);
            var store = control.Services.GetRequiredService<ContentKeyStore>();
            var openKey = await store.CreateAsync(open);
            var membersKey = await store.CreateAsync(members);
            await using var origin = await StartOriginAsync(control.BaseAddress);
            await WaitReadyAsync(origin);

            // A public channel's key, the raw 16 bytes from the control node; an unknown KID and another channel's KID are not keys of it.
            var answer = await KeyAsync(origin, KeyPath("open-aes", openKey.KeyId));
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.Equal(openKey.Key, answer.Key);
            Assert.Equal(HttpStatusCode.NotFound, (await KeyAsync(origin, KeyPath("open-aes", new byte[16]))).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await KeyAsync(origin, KeyPath("open-aes", membersKey.KeyId))).Status);

            // A private channel's key wants its playback token on this node too: ?token= or Authorization: Bearer.
            Assert.Equal(HttpStatusCode.Unauthorized, (await KeyAsync(origin, KeyPath("members-aes", membersKey.KeyId))).Status);
            var minted = await MintAsync(control, members, 600);
            var authorized = await KeyAsync(origin, $"{KeyPath("members-aes", membersKey.KeyId)}?token={minted.Token}");
            Assert.Equal(HttpStatusCode.OK, authorized.Status);
            Assert.Equal(membersKey.Key, authorized.Key);
            var bearer = await KeyAsync(origin, KeyPath("members-aes", membersKey.KeyId), minted.Token);
            Assert.Equal(HttpStatusCode.OK, bearer.Status);
            Assert.Equal(membersKey.Key, bearer.Key);

            // The control node goes away: a key found within the minute still answers; one never found is 503 with
            // Retry-After, not 404.
            var later = await store.CreateAsync(open);
            await control.DisposeAsync();
            controlStopped = true;
            Assert.Equal(HttpStatusCode.OK, (await KeyAsync(origin, KeyPath("open-aes", openKey.KeyId))).Status);
            var away = await KeyAsync(origin, KeyPath("open-aes", later.KeyId));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, away.Status);
            Assert.Equal("5", away.RetryAfter);
        }
        finally
        {
            if (!controlStopped) await control.DisposeAsync();
        }
    }

    private static string KeyPath(string channel, byte[] kid) => $"/live/{channel}/key/{Convert.ToHexStringLower(kid)}";

    private static async Task<(HttpStatusCode Status, byte[]? Key, string? RetryAfter)> KeyAsync(InProcessServer origin, string path, string? bearer = null)
    {
        // A fresh client each time: the origin's playback cookie from one request must not authorize the next.
        using var client = new HttpClient { BaseAddress = origin.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await client.SendAsync(request);
        string? retryAfter = response.Headers.RetryAfter?.Delta is { } delta ? ((int)delta.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) : null;
        if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, null, retryAfter);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoStore == true, $"Cache-Control: {response.Headers.CacheControl}");
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(), retryAfter);
    }
}
