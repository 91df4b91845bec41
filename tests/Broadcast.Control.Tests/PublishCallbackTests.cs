using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;

namespace Broadcast.Control.Tests;

/// <summary>
/// The platform's publish callback (<see cref="PublishCallback"/>) against a real HTTP endpoint on loopback, reached under
/// a name the outbound policy allows (<c>platform.test</c> → 127.0.0.1), as an operator allows their platform's address.
/// </summary>
public sealed class PublishCallbackTests
{
    private static readonly Channel Studio = new("ch-1", "Studio", "studio", false, false, false, DateTimeOffset.UnixEpoch, "…abcd");
    private static readonly Channel Other = Studio with { Id = "ch-2", Slug = "other" };
    private static readonly PublishCaller Obs = new(IPAddress.Parse("::ffff:198.51.100.7"), "FMLE/3.0 (compatible; obs-studio/30.0)");

    [Fact]
    public async Task A_2xx_allows_and_the_platform_is_told_the_channel_key_protocol_address_and_encoder()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        using var callback = Callback(platform);

        var answer = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);

        Assert.Equal(PublishCallbackOutcome.Allowed, answer.Outcome);
        var request = Assert.Single(platform.Received);
        Assert.Equal("POST", request.Method);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("studio", body.RootElement.GetProperty("channel").GetString());
        Assert.Equal("ch-1", body.RootElement.GetProperty("channelId").GetString());
        Assert.Equal("sk_live_1", body.RootElement.GetProperty("streamKey").GetString());
        Assert.Equal("rtmp", body.RootElement.GetProperty("protocol").GetString());
        Assert.Equal("198.51.100.7", body.RootElement.GetProperty("clientAddress").GetString());
        Assert.Equal("FMLE/3.0 (compatible; obs-studio/30.0)", body.RootElement.GetProperty("encoder").GetString());
    }

    [Theory]
    [InlineData("application/json", "{\"reason\":\"subscription expired\"}", "subscription expired")]
    [InlineData("text/plain", "subscription expired\r\nsecond line", "subscription expired  second line")]
    [InlineData("text/plain", "", "refused by the platform (403)")]
    [InlineData("application/json", "{\"reason\":42}", "{\"reason\":42}")]
    public async Task A_4xx_refuses_with_the_platforms_reason_as_one_line(string contentType, string body, string reason)
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        platform.Answer(403, body, contentType);
        using var callback = Callback(platform);

        var answer = await callback.AskAsync(Studio, "sk_live_1", "srt", Obs, CancellationToken.None);

        Assert.Equal(PublishCallbackOutcome.Refused, answer.Outcome);
        Assert.Equal(reason, answer.Reason);
    }

    [Fact]
    public void A_reason_is_cut_to_200_printable_characters()
    {
        string reason = PublishCallback.ReasonOf(System.Text.Encoding.UTF8.GetBytes("\u0007" + new string('x', 5000)), 403);
        Assert.Equal(200, reason.Length);
        Assert.DoesNotContain(reason, char.IsControl);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    [InlineData(302)]
    public async Task Other_statuses_are_failures_and_a_redirect_is_not_followed(int status)
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        platform.Answer(async (_, response, token) =>
        {
            response.StatusCode = status;
            if (status == 302) response.Headers.Location = "http://platform.test/elsewhere";
            await response.WriteAsync("no", token);
        });
        using var callback = Callback(platform);

        var answer = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);

        Assert.Equal(PublishCallbackOutcome.Failed, answer.Outcome);
        Assert.Single(platform.Received);
    }

    [Fact]
    public async Task An_answer_over_4_KiB_is_a_failure_read_no_further()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        platform.Answer(403, new string('r', 1024 * 1024));
        using var callback = Callback(platform);

        var answer = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);

        Assert.Equal(PublishCallbackOutcome.Failed, answer.Outcome);
        Assert.Contains("longer than 4096 bytes", answer.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_callback_that_hangs_fails_at_the_timeout_and_holds_only_its_own_channel()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        platform.Answer(async (request, response, token) =>
        {
            if (request.BodyText.Contains("\"studio\"", StringComparison.Ordinal)) await Task.Delay(Timeout.Infinite, token);
            response.StatusCode = 204;
        });
        // 5 s: long enough that the other channel's answer comes first even on a loaded machine, short enough to wait for.
        using var callback = Callback(platform, timeoutMs: 5000);

        var hanging = callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);
        var clock = Stopwatch.StartNew();
        var other = await callback.AskAsync(Other, "sk_live_2", "rtmp", Obs, CancellationToken.None);
        var otherTook = clock.Elapsed;

        Assert.Equal(PublishCallbackOutcome.Allowed, other.Outcome);
        Assert.False(hanging.IsCompleted, $"the other channel's answer came after the hanging one's timeout ({otherTook.TotalMilliseconds:0} ms)");
        var failed = await hanging.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PublishCallbackOutcome.Failed, failed.Outcome);
        Assert.Contains("within 5000 ms", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reconnect_storm_asks_once_and_a_new_address_asks_again()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        platform.Answer(async (_, response, token) =>
        {
            await release.Task.WaitAsync(token);
            response.StatusCode = 204;
        });
        using var callback = Callback(platform);

        var storm = Enumerable.Range(0, 20).Select(_ => callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None)).ToList();
        await WaitFor.ConditionAsync(() => platform.Received.Count >= 1, TimeSpan.FromSeconds(20), "the first question");
        release.SetResult();
        var answers = await Task.WhenAll(storm).WaitAsync(TimeSpan.FromSeconds(30));
        var again = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);
        var elsewhere = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs with { Address = IPAddress.Parse("203.0.113.9") },
            CancellationToken.None);

        Assert.All(answers, a => Assert.Equal(PublishCallbackOutcome.Allowed, a.Outcome));
        Assert.Equal(PublishCallbackOutcome.Allowed, again.Outcome);
        Assert.Equal(PublishCallbackOutcome.Allowed, elsewhere.Outcome);
        Assert.Equal(2, platform.Received.Count);
    }

    [Fact]
    public async Task A_cache_of_zero_asks_every_time()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        using var callback = Callback(platform, cacheSeconds: 0);

        for (int i = 0; i < 3; i++) await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);

        Assert.Equal(3, platform.Received.Count);
    }

    [Fact]
    public async Task A_platform_address_the_outbound_policy_refuses_is_never_connected_to()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        // The name resolves to loopback, which nothing allows here: the connection is refused before it is made.
        var resolver = new FakeHostResolver().Map("platform.test", "127.0.0.1");
        var options = Options(new UriBuilder(platform.BaseUri) { Host = "platform.test" }.Uri);
        using var callback = new PublishCallback(options, new OutboundGuard(new OutboundUrlPolicy(), resolver), TimeProvider.System,
            NullLogger<PublishCallback>.Instance);

        var answer = await callback.AskAsync(Studio, "sk_live_1", "rtmp", Obs, CancellationToken.None);

        Assert.Equal(PublishCallbackOutcome.Failed, answer.Outcome);
        Assert.Contains("outbound policy", answer.Reason, StringComparison.Ordinal);
        Assert.Empty(platform.Received);
    }

    [Theory]
    [InlineData("Url", "ftp://platform.test/")]
    [InlineData("Url", "https://user:pass@platform.test/")]
    [InlineData("Url", "/relative")]
    [InlineData("TimeoutMilliseconds", "50")]
    [InlineData("TimeoutMilliseconds", "x")]
    [InlineData("CacheSeconds", "-1")]
    [InlineData("OnFailure", "maybe")]
    public void Bad_settings_stop_the_start_naming_the_key(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PublishCallback:Url"] = "https://platform.test/publish",
            [$"PublishCallback:{key}"] = value,
        }).Build();

        var e = Assert.Throws<InvalidOperationException>(() => PublishCallbackOptions.From(configuration));
        Assert.Contains($"PublishCallback:{key}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_url_the_callback_is_off()
    {
        var options = PublishCallbackOptions.From(new ConfigurationBuilder().Build());
        Assert.False(options.Enabled);
        Assert.Equal(PublishCallbackFailure.Refuse, options.OnFailure);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.Timeout);
    }

    private static PublishCallbackOptions Options(Uri url, int timeoutMs = 5000, int cacheSeconds = 10) => new()
    {
        Url = new Uri(url, "publish?token=abc"),
        Timeout = TimeSpan.FromMilliseconds(timeoutMs),
        CacheFor = TimeSpan.FromSeconds(cacheSeconds),
    };

    private static PublishCallback Callback(LoopbackHttpEndpoint platform, int timeoutMs = 5000, int cacheSeconds = 10)
    {
        var resolver = new FakeHostResolver().Map("platform.test", "127.0.0.1");
        var guard = new OutboundGuard(new OutboundUrlPolicy(OutboundAllowList.Parse(["platform.test"], [])), resolver);
        var url = new UriBuilder(platform.BaseUri) { Host = "platform.test" }.Uri;
        return new PublishCallback(Options(url, timeoutMs, cacheSeconds), guard, TimeProvider.System, NullLogger<PublishCallback>.Instance);
    }
}

/// <summary>
/// The callback in <see cref="PublishPolicy"/>: asked only for a key that passed, after the schedule, for encoders and
/// WHIP alike; its refusal is the verdict's reason; a failure follows <c>PublishCallback:OnFailure</c>.
/// </summary>
public sealed class PublishPolicyCallbackTests
{
    [Theory]
    [InlineData("refuse", false)]
    [InlineData("allow", true)]
    public async Task The_platform_decides_after_the_key_and_a_failure_follows_the_operators_choice(string onFailure, bool failureAllows)
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Kind"] = "sqlite",
            ["PublishCallback:Url"] = platform.Url("publish").ToString(),
            ["PublishCallback:OnFailure"] = onFailure,
            ["PublishCallback:CacheSeconds"] = "0",
            ["Outbound:AllowedNetworks"] = "127.0.0.0/8",
        }).Build();
        // The host's own outbound guard is the one the callback gets: the platform's loopback address is allowed there.
        await using var host = await ControlApiHost.StartAsync("test-admin-token-publish-callback-0123456789",
            new Dictionary<string, string?> { ["Outbound:AllowedNetworks"] = "127.0.0.0/8" }, services => services.AddPublishPolicy(settings));
        var policy = host.App.Services.GetRequiredService<PublishPolicy>();
        var issued = await host.App.Services.GetRequiredService<ChannelService>().CreateAsync(new ChannelSpec("Stage"));
        var caller = new PublishCaller(IPAddress.Loopback, "obs");

        var wrongKey = await policy.DecideAsync("live", "sk_not_a_key", "rtmp", caller, default);
        Assert.True(wrongKey.KeyRejected);
        Assert.Empty(platform.Received);

        platform.Answer(403, "{\"reason\":\"this course has ended\"}", "application/json");
        var refused = await policy.DecideAsync("live", issued.StreamKey, "rtmp", caller, default);
        var refusedWhip = await policy.DecideRoomPublishAsync(issued.StreamKey, caller, default);
        Assert.False(refused.Allowed);
        Assert.False(refused.KeyRejected);
        Assert.Equal("this course has ended", refused.Reason);
        Assert.Equal("this course has ended", refusedWhip.Reason);
        Assert.Contains("\"protocol\":\"whip\"", platform.Received[^1].BodyText, StringComparison.Ordinal);

        platform.Answer(503);
        var failed = await policy.DecideAsync("live", issued.StreamKey, "rtmp", caller, default);
        Assert.Equal(failureAllows, failed.Allowed);
        if (!failureAllows) Assert.Contains("publish check failed", failed.Reason, StringComparison.Ordinal);

        platform.Answer(204);
        var allowed = await policy.DecideAsync("live", issued.StreamKey, "rtmp", caller, default);
        Assert.True(allowed.Allowed, allowed.Reason);
        Assert.Equal(issued.Channel.Slug, allowed.Slug);
    }
}
