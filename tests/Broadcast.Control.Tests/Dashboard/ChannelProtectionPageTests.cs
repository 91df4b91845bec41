using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard;
using Broadcast.Control.Protection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// The channel page's "Protection" card on a real control host with the dashboard mapped: the scheme in words, where keys
/// come from (the node's key check says; a node without one says it has none) and the channel's key rotation, which the
/// protection form shows and saves with the scheme (antiforgery-checked, as every form of the page); "Test key" an
/// antiforgery-checked admin POST that asks the node's check for the channel's slug and scheme and shows its KID, systems
/// and HLS key formats, or its refusal. The key provider itself is protection/'s, tested over the real providers in
/// Broadcast.Server.Tests (<c>ProtectionKeyCheckTests</c>); here a recording check stands in for it.
/// </summary>
public sealed partial class ChannelProtectionPageTests
{
    private const string Token = "test-admin-token-protection-page-0123456";

    private sealed class RecordingKeyCheck : IProtectionKeyCheck
    {
        public List<(string Slug, ChannelProtection Protection)> Calls { get; } = [];

        public ProtectionKeyCheckResult Answer { get; set; } = ProtectionKeyCheckResult.Refused("not set");

        public string KeySource => "CPIX key server at drm.example:8443";

        public Task<ProtectionKeyCheckResult> CheckAsync(string channelSlug, ChannelProtection protection, CancellationToken cancellationToken)
        {
            Calls.Add((channelSlug, protection));
            return Task.FromResult(Answer);
        }
    }

    private static Task<ControlApiHost> StartAsync(IProtectionKeyCheck? check) => ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(),
        services =>
        {
            services.AddDashboard(new ConfigurationBuilder().Build());
            if (check is not null) services.AddSingleton(check);
        }, app => app.MapDashboard());

    private static HttpClient Browser(ControlApiHost host, bool signedIn = true)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = host.BaseAddress };
        if (signedIn) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return client;
    }

    private static async Task<Channel> ChannelAsync(ControlApiHost host, ChannelProtection protection)
    {
        using var created = await host.Client.PostAsJsonAsync("/api/channels", new { name = "Paid final" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        string id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        return (await host.App.Services.GetRequiredService<ChannelService>().SetProtectionAsync(id, protection))!;
    }

    private static string Dd(string html, string id) =>
        Regex.Match(html, $"<dd id=\"{id}\">([^<]*)</dd>").Groups[1].Value;

    private static string TestKeyFormToken(string html)
    {
        int form = html.IndexOf("id=\"test-key-form\"", StringComparison.Ordinal);
        Assert.True(form > 0, "no Test key form on the page");
        var token = FormToken().Match(html, form);
        Assert.True(token.Success, "no antiforgery token in the Test key form");
        return WebUtility.HtmlDecode(token.Groups[1].Value);
    }

    [Fact]
    public async Task The_card_states_the_facts_and_test_key_shows_the_kid_systems_and_formats()
    {
        var check = new RecordingKeyCheck
        {
            Answer = new ProtectionKeyCheckResult(true, null, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
            {
                Systems = ["Widevine (edef8ba9-79d6-4ace-a3c8-27dcd51d21ed)", "FairPlay (94ce86fb-07ff-4f43-adb8-93d2fa968ca2)"],
                PsshCount = 1,
                HlsKeyFormats = ["com.apple.streamingkeydelivery"],
            },
        };
        await using var host = await StartAsync(check);
        var channel = await ChannelAsync(host, ChannelProtection.Cbcs);
        using var browser = Browser(host);

        string html = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        Assert.StartsWith("cbcs: Common Encryption, AES-CBC", Dd(html, "protection-scheme"), StringComparison.Ordinal);
        Assert.Equal("CPIX key server at drm.example:8443", Dd(html, "protection-key-source"));
        Assert.Equal("one key per broadcast", Dd(html, "protection-rotation"));
        Assert.Equal("0", RotationInput(html).Groups[1].Value);
        Assert.DoesNotContain("key-test-result", html, StringComparison.Ordinal);
        Assert.Empty(check.Calls);

        using var posted = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=TestKey",
            new FormUrlEncodedContent([new("__RequestVerificationToken", TestKeyFormToken(html))]));
        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        Assert.Equal($"/dashboard/channels/{channel.Id}", posted.Headers.Location?.OriginalString);
        Assert.Equal([(channel.Slug, ChannelProtection.Cbcs)], check.Calls);

        string after = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        var shown = ResultText().Match(after);
        Assert.True(shown.Success, "no key test result on the page");
        Assert.Equal("flash", shown.Groups[1].Value);
        Assert.Equal("Key test passed: KID 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0; DRM systems: Widevine (edef8ba9-79d6-4ace-a3c8-27dcd51d21ed), "
            + "FairPlay (94ce86fb-07ff-4f43-adb8-93d2fa968ca2) (1 pssh); HLS key formats: com.apple.streamingkeydelivery. The test key is not used by any broadcast.",
            WebUtility.HtmlDecode(shown.Groups[2].Value));
        // Shown once: the next load of the page is without it.
        Assert.DoesNotContain("key-test-result", await browser.GetStringAsync($"/dashboard/channels/{channel.Id}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_is_shown_and_a_post_without_its_token_or_admin_asks_nothing()
    {
        var check = new RecordingKeyCheck { Answer = ProtectionKeyCheckResult.Refused("the CPIX answer names KID 1-2, which was not asked") };
        await using var host = await StartAsync(check);
        var channel = await ChannelAsync(host, ChannelProtection.Cenc);
        using var browser = Browser(host);
        string html = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        string token = TestKeyFormToken(html);

        using (var noToken = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=TestKey", new FormUrlEncodedContent([])))
            Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        using (var anonymous = Browser(host, signedIn: false))
        using (var refused = await anonymous.PostAsync($"/dashboard/channels/{channel.Id}?handler=TestKey",
                   new FormUrlEncodedContent([new("__RequestVerificationToken", token)])))
            Assert.NotEqual($"/dashboard/channels/{channel.Id}", refused.Headers.Location?.OriginalString);
        Assert.Empty(check.Calls);

        using (var posted = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=TestKey",
                   new FormUrlEncodedContent([new("__RequestVerificationToken", token)])))
            Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        Assert.Equal([(channel.Slug, ChannelProtection.Cenc)], check.Calls);
        var shown = ResultText().Match(await browser.GetStringAsync($"/dashboard/channels/{channel.Id}"));
        Assert.Equal("field-error", shown.Groups[1].Value);
        Assert.Equal("Key test refused: the CPIX answer names KID 1-2, which was not asked", WebUtility.HtmlDecode(shown.Groups[2].Value));

        using var missing = await browser.PostAsync("/dashboard/channels/nope?handler=TestKey",
            new FormUrlEncodedContent([new("__RequestVerificationToken", token)]));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_node_without_a_key_provider_says_so_and_its_test_refuses_plainly()
    {
        await using var host = await StartAsync(check: null);
        var channel = await ChannelAsync(host, ChannelProtection.None);
        using var browser = Browser(host);
        string html = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        Assert.StartsWith("none: broadcasts are packaged in the clear", Dd(html, "protection-scheme"), StringComparison.Ordinal);
        Assert.StartsWith("no key provider on this node", Dd(html, "protection-key-source"), StringComparison.Ordinal);

        using var posted = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=TestKey",
            new FormUrlEncodedContent([new("__RequestVerificationToken", TestKeyFormToken(html))]));
        Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        var shown = ResultText().Match(await browser.GetStringAsync($"/dashboard/channels/{channel.Id}"));
        Assert.StartsWith("Key test refused: this node composes no key provider", WebUtility.HtmlDecode(shown.Groups[2].Value), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_protection_form_saves_the_key_rotation_with_the_scheme_and_the_card_says_it()
    {
        await using var host = await StartAsync(new RecordingKeyCheck());
        var channel = await ChannelAsync(host, ChannelProtection.Cenc);
        using var browser = Browser(host);
        string html = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        var input = RotationInput(html);
        Assert.True(input.Success, "no key rotation input in the protection form");
        Assert.Contains("min=\"0\"", input.Value, StringComparison.Ordinal);
        Assert.Contains("max=\"1000\"", input.Value, StringComparison.Ordinal);
        Assert.Contains("0 = one key per broadcast", html, StringComparison.Ordinal);
        int form = html.IndexOf("id=\"protection-form\"", StringComparison.Ordinal);
        Assert.True(form > 0 && html.IndexOf("id=\"key-rotation-segments\"", StringComparison.Ordinal) > form
            && html.IndexOf("id=\"key-rotation-segments\"", StringComparison.Ordinal) < html.IndexOf("</form>", form, StringComparison.Ordinal),
            "the key rotation input is not in the protection form");
        var token = FormToken().Match(html, form);
        Assert.True(token.Success, "no antiforgery token in the protection form");
        string formToken = WebUtility.HtmlDecode(token.Groups[1].Value);

        using (var noToken = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=Protection",
                   new FormUrlEncodedContent([new("protection", "cbcs"), new("keyRotationSegments", "10")])))
            Assert.Equal(HttpStatusCode.BadRequest, noToken.StatusCode);
        Assert.Equal(0, (await host.App.Services.GetRequiredService<ChannelService>().GetAsync(channel.Id))!.KeyRotationSegments);

        using (var posted = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=Protection", new FormUrlEncodedContent(
                   [new("__RequestVerificationToken", formToken), new("protection", "cbcs"), new("keyRotationSegments", "10")])))
            Assert.Equal(HttpStatusCode.Redirect, posted.StatusCode);
        var saved = (await host.App.Services.GetRequiredService<ChannelService>().GetAsync(channel.Id))!;
        Assert.Equal((ChannelProtection.Cbcs, 10), (saved.Protection, saved.KeyRotationSegments));
        string after = await browser.GetStringAsync($"/dashboard/channels/{channel.Id}");
        Assert.Equal("a new key every 10 segments, announced ahead of use", Dd(after, "protection-rotation"));
        Assert.Equal("10", RotationInput(after).Groups[1].Value);

        // Not a whole number: the binder reads none, and nothing changes.
        using (var bad = await browser.PostAsync($"/dashboard/channels/{channel.Id}?handler=Protection", new FormUrlEncodedContent(
                   [new("__RequestVerificationToken", formToken), new("protection", "cenc"), new("keyRotationSegments", "2.5")])))
            Assert.Equal(HttpStatusCode.Redirect, bad.StatusCode);
        saved = (await host.App.Services.GetRequiredService<ChannelService>().GetAsync(channel.Id))!;
        Assert.Equal((ChannelProtection.Cbcs, 10), (saved.Protection, saved.KeyRotationSegments));
        Assert.Contains("key rotation is a whole number of segments", WebUtility.HtmlDecode(await browser.GetStringAsync($"/dashboard/channels/{channel.Id}")),
            StringComparison.Ordinal);
    }

    private static Match RotationInput(string html) => RotationInputTag().Match(html);

    [GeneratedRegex("<input type=\"number\" name=\"keyRotationSegments\" id=\"key-rotation-segments\"[^>]*value=\"([^\"]*)\"[^>]*>")]
    private static partial Regex RotationInputTag();

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex FormToken();

    [GeneratedRegex("<p id=\"key-test-result\" role=\"status\" class=\"([^\"]*)\">([^<]*)</p>")]
    private static partial Regex ResultText();
}
