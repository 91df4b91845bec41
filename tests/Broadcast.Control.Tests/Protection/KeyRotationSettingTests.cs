using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Channels;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Protection;

/// <summary>
/// A channel's key rotation (<see cref="Channel.KeyRotationSegments"/>, docs/protection.md): its range (0 to 1000) as the
/// channel service checks it, and the admin API's <c>keyRotationSegments</c> on a real Kestrel over a SQLite file: 0 by
/// default and always written, set on create, PATCH and PUT (PATCH keeps it, PUT returns it to 0), kept while the
/// protection is none, and a value out of range or not a whole number refused as 400 problem+json naming the field, with
/// nothing changed.
/// </summary>
public sealed class KeyRotationSettingTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-key-rotation-0123456";
    private ControlApiHost _host = null!;

    public async Task InitializeAsync() => _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>The 400 problem+json of a refused rotation: its one error is under keyRotationSegments, and says what is wanted.</summary>
    private static async Task<string> RefusalAsync(HttpResponseMessage response)
    {
        var problem = await BodyAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = problem.GetProperty("errors");
        Assert.Equal(["keyRotationSegments"], errors.EnumerateObject().Select(e => e.Name).ToArray());
        string message = Assert.Single(errors.GetProperty("keyRotationSegments").EnumerateArray()).GetString()!;
        Assert.Contains("keyRotationSegments", message, StringComparison.Ordinal);
        return message;
    }

    private async Task<JsonElement> GetAsync(string id)
    {
        using var read = await _host.Client.GetAsync($"/api/channels/{id}");
        return await BodyAsync(read, HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(1, true)]
    [InlineData(10, true)]
    [InlineData(1000, true)]
    [InlineData(-1, false)]
    [InlineData(1001, false)]
    [InlineData(int.MinValue, false)]
    [InlineData(int.MaxValue, false)]
    public void The_range_is_0_to_1000(int segments, bool accepted)
    {
        Assert.Equal(accepted, ChannelKeyRotation.Error(segments) is null);
        var errors = ChannelService.Validate(new ChannelSpec("Paid final", Protection: ChannelProtection.Cbcs, KeyRotationSegments: segments));
        if (accepted)
        {
            Assert.Empty(errors);
            return;
        }

        string message = Assert.Single(Assert.Single(errors, e => e.Key == "keyRotationSegments").Value);
        Assert.Equal("keyRotationSegments must be a whole number from 0 (one key per broadcast) to 1000 (a new content key every that many segments).",
            message);
        Assert.Equal(message, ChannelKeyRotation.Error(segments));
    }

    [Fact]
    public async Task The_service_refuses_a_rotation_out_of_range_and_keeps_the_channel_as_it_was()
    {
        var channels = _host.App.Services.GetRequiredService<ChannelService>();
        var channel = (await channels.CreateAsync(new ChannelSpec("Paid final", Protection: ChannelProtection.Cenc, KeyRotationSegments: 5))).Channel;
        Assert.Equal(5, channel.KeyRotationSegments);
        var refused = await Assert.ThrowsAsync<ValidationFailedException>(() => channels.SetProtectionAsync(channel.Id, ChannelProtection.Cbcs, 1001));
        Assert.True(refused.Errors.ContainsKey("keyRotationSegments"));
        await Assert.ThrowsAsync<ValidationFailedException>(() => channels.CreateAsync(new ChannelSpec("Bad", KeyRotationSegments: -1)));
        var kept = (await channels.GetAsync(channel.Id))!;
        Assert.Equal((ChannelProtection.Cenc, 5), (kept.Protection, kept.KeyRotationSegments));
        Assert.Null(await channels.SetProtectionAsync("no-such-channel", ChannelProtection.Cbcs, 10));
        Assert.Null(await channels.SetProtectionAsync("no-such-channel", ChannelProtection.Cbcs));
    }

    [Fact]
    public async Task Rotation_is_0_by_default_set_on_create_patch_and_put_and_shown_in_every_answer()
    {
        using var plain = await _host.Client.PostAsync("/api/channels", Json("""{"name":"Clear"}"""));
        var plainBody = await BodyAsync(plain, HttpStatusCode.Created);
        Assert.Equal(0, plainBody.GetProperty("keyRotationSegments").GetInt32());

        using var created = await _host.Client.PostAsync("/api/channels", Json("""{"name":"Paid Event","protection":"cbcs","keyRotationSegments":10}"""));
        var body = await BodyAsync(created, HttpStatusCode.Created);
        Assert.Equal(("cbcs", 10), (body.GetProperty("protection").GetString(), body.GetProperty("keyRotationSegments").GetInt32()));
        string id = body.GetProperty("id").GetString()!;
        Assert.Equal(10, (await GetAsync(id)).GetProperty("keyRotationSegments").GetInt32());
        using (var list = await _host.Client.GetAsync("/api/channels"))
        {
            var all = (await BodyAsync(list, HttpStatusCode.OK)).EnumerateArray().ToList();
            Assert.Equal(10, all.Single(c => c.GetProperty("id").GetString() == id).GetProperty("keyRotationSegments").GetInt32());
            Assert.Equal(0, all.Single(c => c.GetProperty("name").GetString() == "Clear").GetProperty("keyRotationSegments").GetInt32());
        }

        // PATCH with the rotation alone changes it and keeps the scheme; PATCH without it keeps it.
        using (var patched = await _host.Client.PatchAsync($"/api/channels/{id}", Json("""{"keyRotationSegments":1000}""")))
        {
            var answer = await BodyAsync(patched, HttpStatusCode.OK);
            Assert.Equal(("cbcs", 1000), (answer.GetProperty("protection").GetString(), answer.GetProperty("keyRotationSegments").GetInt32()));
        }

        using (var renamed = await _host.Client.PatchAsync($"/api/channels/{id}", Json("""{"name":"Paid","protection":"cenc"}""")))
        {
            var answer = await BodyAsync(renamed, HttpStatusCode.OK);
            Assert.Equal(("cenc", 1000), (answer.GetProperty("protection").GetString(), answer.GetProperty("keyRotationSegments").GetInt32()));
        }

        // A rotation with protection none is kept: it applies once the channel is protected.
        using (var clear = await _host.Client.PatchAsync($"/api/channels/{id}", Json("""{"protection":"none","keyRotationSegments":1}""")))
        {
            var answer = await BodyAsync(clear, HttpStatusCode.OK);
            Assert.Equal(("none", 1), (answer.GetProperty("protection").GetString(), answer.GetProperty("keyRotationSegments").GetInt32()));
        }

        Assert.Equal(1, (await GetAsync(id)).GetProperty("keyRotationSegments").GetInt32());

        // PUT: a rotation sent is set; an omitted one returns to 0, as an omitted protection returns to none.
        using (var put = await _host.Client.PutAsync($"/api/channels/{id}", Json("""{"name":"Paid","protection":"aes-128","keyRotationSegments":30}""")))
        {
            var answer = await BodyAsync(put, HttpStatusCode.OK);
            Assert.Equal(("aes-128", 30), (answer.GetProperty("protection").GetString(), answer.GetProperty("keyRotationSegments").GetInt32()));
        }

        using (var put = await _host.Client.PutAsync($"/api/channels/{id}", Json("""{"name":"Paid","protection":"cbcs"}""")))
        {
            var answer = await BodyAsync(put, HttpStatusCode.OK);
            Assert.Equal(("cbcs", 0), (answer.GetProperty("protection").GetString(), answer.GetProperty("keyRotationSegments").GetInt32()));
        }
    }

    [Theory]
    [InlineData("-1", true)]
    [InlineData("1001", true)]
    [InlineData("2147483647", true)]
    [InlineData("2.5", false)]
    [InlineData("\"ten\"", false)]
    [InlineData("\"1001\"", true)]
    [InlineData("true", false)]
    [InlineData("[10]", false)]
    [InlineData("99999999999", false)]
    public async Task A_rotation_out_of_range_or_not_a_whole_number_is_400_naming_the_field_and_changes_nothing(string value, bool inRangeCheck)
    {
        // The API reads JSON with the web defaults, which take a number written as a string ("10") as that number, as for
        // every other whole-number field; a string that is no number is refused like any other wrong type.
        using var created = await _host.Client.PostAsync("/api/channels", Json("""{"name":"Paid","protection":"cenc","keyRotationSegments":6}"""));
        string id = (await BodyAsync(created, HttpStatusCode.Created)).GetProperty("id").GetString()!;

        using (var create = await _host.Client.PostAsync("/api/channels", Json($$"""{"name":"Refused","keyRotationSegments":{{value}}}""")))
        {
            string message = await RefusalAsync(create);
            if (inRangeCheck) Assert.Contains("from 0 (one key per broadcast) to 1000", message, StringComparison.Ordinal);
        }

        using (var patch = await _host.Client.PatchAsync($"/api/channels/{id}", Json($$"""{"name":"Renamed","protection":"cbcs","keyRotationSegments":{{value}}}""")))
            await RefusalAsync(patch);
        using (var put = await _host.Client.PutAsync($"/api/channels/{id}", Json($$"""{"name":"Renamed","keyRotationSegments":{{value}}}""")))
            await RefusalAsync(put);

        // Nothing changed: not the name or scheme sent beside the refused rotation, and no channel was made.
        var kept = await GetAsync(id);
        Assert.Equal(("Paid", "cenc", 6), (kept.GetProperty("name").GetString(), kept.GetProperty("protection").GetString(),
            kept.GetProperty("keyRotationSegments").GetInt32()));
        using var list = await _host.Client.GetAsync("/api/channels");
        Assert.DoesNotContain((await BodyAsync(list, HttpStatusCode.OK)).EnumerateArray(), c => c.GetProperty("name").GetString() == "Refused");
    }
}
