using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Protection;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.OriginOnlyPrivatePlaybackTests;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// The ClearKey license on an origin-only node (the compose file's replicas, where the edge sends viewers): the node holds
/// no content keys, checks the viewer's playback authorization itself and asks the control node for the keys with the
/// playback node token. Two real applications on loopback.
/// </summary>
public sealed class OriginOnlyClearKeyLicenseTests
{
    [Fact]
    public async Task An_origin_only_node_answers_the_license_with_the_control_nodes_keys_under_its_own_playback_check()
    {
        var control = await InProcessServer.StartAsync();
        bool controlStopped = false;
        try
        {
            string open = await CreateChannelAsync(control, "Open Keys", privatePlayback: false);
            string members = await CreateChannelAsync(control, "Members Keys", privatePlayback: true);
            var store = control.Services.GetRequiredService<ContentKeyStore>();
            var openKey = await store.CreateAsync(open);
            var membersKey = await store.CreateAsync(members);
            await using var origin = await StartOriginAsync(control.BaseAddress);
            await WaitReadyAsync(origin);

            // A public channel's key, from the control node; an unknown KID and another channel's KID are not keys of it.
            var answer = await LicenseAsync(origin, "/live/open-keys/license", openKey.KeyId);
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.Equal(Base64Url.EncodeToString(openKey.Key), answer.Key);
            Assert.Equal(HttpStatusCode.NotFound, (await LicenseAsync(origin, "/live/open-keys/license", new byte[16])).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await LicenseAsync(origin, "/live/open-keys/license", membersKey.KeyId)).Status);

            // A private channel's license wants its playback token on this node too.
            Assert.Equal(HttpStatusCode.Unauthorized, (await LicenseAsync(origin, "/live/members-keys/license", membersKey.KeyId)).Status);
            var minted = await MintAsync(control, members, 600);
            var authorized = await LicenseAsync(origin, $"/live/members-keys/license?token={minted.Token}", membersKey.KeyId);
            Assert.Equal(HttpStatusCode.OK, authorized.Status);
            Assert.Equal(Base64Url.EncodeToString(membersKey.Key), authorized.Key);

            // The control node's route takes the node token alone: not anonymous, not the admin token.
            foreach (string? bearer in new[] { null, InProcessServer.Token })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, ContentKeyNodeEndpoint.Path)
                {
                    Content = new StringContent($"{{\"channel\":\"open-keys\",\"kids\":[\"{Convert.ToHexStringLower(openKey.KeyId)}\"]}}",
                        Encoding.UTF8, "application/json"),
                };
                if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
                using var refused = await control.Http.SendAsync(request);
                Assert.True(refused.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, $"{bearer}: {refused.StatusCode}");
                Assert.DoesNotContain(Base64Url.EncodeToString(openKey.Key), await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            // The control node goes away: a key found within the minute still answers; one never found is 503, not 404.
            var later = await store.CreateAsync(open);
            await control.DisposeAsync();
            controlStopped = true;
            Assert.Equal(HttpStatusCode.OK, (await LicenseAsync(origin, "/live/open-keys/license", openKey.KeyId)).Status);
            var away = await LicenseAsync(origin, "/live/open-keys/license", later.KeyId);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, away.Status);
        }
        finally
        {
            if (!controlStopped) await control.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("{\"kids\":[\"00112233445566778899aabbccddeeff\"]}", "channel")]
    [InlineData("{\"channel\":\"Not A Slug\",\"kids\":[\"00112233445566778899aabbccddeeff\"]}", "channel")]
    [InlineData("{\"channel\":\"open\",\"kids\":[]}", "kids")]
    [InlineData("{\"channel\":\"open\",\"kids\":[\"0011\"]}", "kids")]
    [InlineData("{\"channel\":\"open\",\"kids\":[\"zz112233445566778899aabbccddeeff\"]}", "kids")]
    [InlineData("{\"channel\":\"open\",\"kids\":[\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\",\"00112233445566778899aabbccddeeff\"]}", "kids")]
    public async Task A_malformed_node_request_is_400_naming_its_field(string body, string field)
    {
        await using var control = await InProcessServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, ContentKeyNodeEndpoint.Path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", InProcessServer.NodeToken);
        using var answer = await control.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.Contains($"\"{field}\"", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<(HttpStatusCode Status, string? Key)> LicenseAsync(InProcessServer origin, string path, byte[] kid)
    {
        // A fresh client each time: the origin's playback cookie from one request must not authorize the next.
        using var client = new HttpClient { BaseAddress = origin.BaseAddress };
        using var response = await client.PostAsync(path, new StringContent(
            $"{{\"kids\":[\"{Base64Url.EncodeToString(kid)}\"],\"type\":\"temporary\"}}", Encoding.UTF8, "application/json"));
        if (response.StatusCode != HttpStatusCode.OK) return (response.StatusCode, null);
        var keys = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("keys");
        return (response.StatusCode, keys[0].GetProperty("k").GetString());
    }
}
