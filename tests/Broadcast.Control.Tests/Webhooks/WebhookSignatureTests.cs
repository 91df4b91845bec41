using System.Text.Json;
using Broadcast.Control.Webhooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;

namespace Broadcast.Control.Tests.Webhooks;

/// <summary>Our signatures, checked by the Standard Webhooks library a receiver uses; the payload's shape; the retry schedule.</summary>
public sealed class WebhookSignatureTests
{
    [Fact]
    public void A_signed_event_verifies_with_the_StandardWebhooks_library_and_a_tampered_one_does_not()
    {
        string secret = WebhookSignature.NewSecret();
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.Equal(WebhookSignature.SecretBytes, Convert.FromBase64String(secret["whsec_".Length..]).Length);
        var happened = WebhookEvent.Create(WebhookEventTypes.ChannelCreated, "ch-1", DateTimeOffset.UtcNow, json => json.WriteString("channel", "studio"));
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var headers = Headers(happened.Id, now, WebhookSignature.Sign(secret, happened.Id, now, happened.Payload));

        new StandardWebhook(secret).Verify(happened.Payload, headers);

        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(secret).Verify(happened.Payload.Replace("studio", "stud1o", StringComparison.Ordinal), headers));
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(WebhookSignature.NewSecret()).Verify(happened.Payload, headers));
        var old = Headers(happened.Id, now - 3600, WebhookSignature.Sign(secret, happened.Id, now - 3600, happened.Payload));
        Assert.Throws<WebhookVerificationException>(() => new StandardWebhook(secret).Verify(happened.Payload, old));
    }

    [Fact]
    public void The_payload_has_id_type_timestamp_and_data()
    {
        var at = new DateTimeOffset(2026, 11, 29, 18, 0, 1, 234, TimeSpan.Zero);
        var happened = WebhookEvent.Create(WebhookEventTypes.BroadcastStarted, "ch-1", at, json => json.WriteString("channel", "studio"));

        using var body = JsonDocument.Parse(happened.Payload);
        Assert.StartsWith("msg_", happened.Id, StringComparison.Ordinal);
        Assert.Equal(happened.Id, body.RootElement.GetProperty("id").GetString());
        Assert.Equal("broadcast.started", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("2026-11-29T18:00:01.234Z", body.RootElement.GetProperty("timestamp").GetString());
        Assert.Equal("studio", body.RootElement.GetProperty("data").GetProperty("channel").GetString());
    }

    [Fact]
    public void Retries_span_more_than_a_day_even_with_every_delay_at_its_shortest_and_jitter_stays_within_a_tenth()
    {
        Assert.Equal(8, WebhookBackoff.Default.MaxAttempts);
        TimeSpan shortest = TimeSpan.Zero, longest = TimeSpan.Zero;
        for (int attempt = 1; attempt < WebhookBackoff.Default.MaxAttempts; attempt++)
        {
            var nominal = WebhookBackoff.Default.Schedule[attempt - 1];
            var low = WebhookBackoff.Default.DelayAfter(attempt, 0)!.Value;
            var high = WebhookBackoff.Default.DelayAfter(attempt, Math.BitDecrement(1.0))!.Value;
            Assert.InRange(low, nominal * 0.9 - TimeSpan.FromMilliseconds(1), nominal * 0.9 + TimeSpan.FromMilliseconds(1));
            Assert.InRange(high, nominal * 1.1 - TimeSpan.FromMilliseconds(1), nominal * 1.1 + TimeSpan.FromMilliseconds(1));
            for (int i = 0; i < 200; i++)
            {
                var drawn = WebhookBackoff.Default.DelayAfter(attempt, Random.Shared.NextDouble())!.Value;
                Assert.InRange(drawn, low, high);
            }
            shortest += low;
            longest += high;
        }

        Assert.Null(WebhookBackoff.Default.DelayAfter(WebhookBackoff.Default.MaxAttempts, 0.5));
        Assert.True(shortest > TimeSpan.FromHours(24), $"the retries span only {shortest} at their shortest");
        Assert.True(longest < TimeSpan.FromHours(31), $"the retries span {longest} at their longest");
        // Rising: each wait is longer than the one before (a receiver that is down for long is not hammered).
        Assert.True(WebhookBackoff.Default.Schedule.Zip(WebhookBackoff.Default.Schedule.Skip(1)).All(p => p.First <= p.Second));
        Assert.Equal(TimeSpan.FromSeconds(5), WebhookBackoff.Default.Schedule[0]);
    }

    [Fact]
    public void Unset_the_schedule_is_the_default_and_an_operators_list_of_durations_replaces_it()
    {
        Assert.Same(WebhookBackoff.Default, WebhookBackoff.From(Config([])));
        Assert.Equal(WebhookBackoff.DefaultSchedule, WebhookBackoff.From(Config(new() { ["Webhooks:RetryDelays"] = "5s,5m,30m,2h,5h,10h,10h" })).Schedule);
        Assert.Equal([TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(90), TimeSpan.FromDays(1)],
            WebhookBackoff.From(Config(new() { ["Webhooks:RetryDelays"] = "500ms, 1s ,01:30:00,1d" })).Schedule);
        var array = WebhookBackoff.From(Config(new() { ["Webhooks:RetryDelays:0"] = "1s", ["Webhooks:RetryDelays:1"] = "2s" }));
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)], array.Schedule);
        Assert.Equal(3, array.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(3), array.Span);
        Assert.Null(array.DelayAfter(3, 0.5));
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("-1s")]
    [InlineData("5")]
    [InlineData("5 parsecs")]
    [InlineData("1s,,1s")]
    [InlineData("8d")]
    [InlineData("1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s")]
    public void A_bad_schedule_stops_the_start_with_an_error_naming_the_key(string delays)
    {
        var error = Assert.Throws<InvalidOperationException>(() => WebhookBackoff.From(Config(new() { ["Webhooks:RetryDelays"] = delays })));
        Assert.Contains("Webhooks:RetryDelays", error.Message, StringComparison.Ordinal);
    }

    private static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();

    internal static HeaderDictionary Headers(string id, long timestamp, string signature) => new()
    {
        ["webhook-id"] = id,
        ["webhook-timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["webhook-signature"] = signature,
    };
}
