using System.Net;
using System.Text;
using System.Text.Json;

namespace Broadcast.Control.Tests;

/// <summary>
/// <c>POST /api/channels/{id}/breaks</c> on a control-only host (real Kestrel, SQLite): validation and the answers of a
/// node that packages nothing. The placement itself is the server's (end-to-end: AdBreakTests).
/// </summary>
public sealed class BreakApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-0123456789abcdef";
    private ControlApiHost _host = null!;

    public async Task InitializeAsync() => _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>());

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _host.Client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private async Task<string> ChannelAsync()
    {
        using var created = await PostAsync("/api/channels", """{"name":"Breaks"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    [Theory]
    [InlineData("""{}""", "The duration (seconds) is required.")]
    [InlineData("""{"duration":null}""", "The duration (seconds) is required.")]
    [InlineData("""{"duration":0.5}""", "The duration must be between 1 and 86400 seconds.")]
    [InlineData("""{"duration":-30}""", "The duration must be between 1 and 86400 seconds.")]
    [InlineData("""{"duration":86401}""", "The duration must be between 1 and 86400 seconds.")]
    [InlineData("""{"duration":true}""", "The value of 'duration' has the wrong type or is malformed.")]
    public async Task A_bad_duration_is_a_400_problem_naming_the_field(string json, string message)
    {
        string id = await ChannelAsync();
        using var response = await PostAsync($"/api/channels/{id}/breaks", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(message, body.GetProperty("errors").GetProperty("duration")[0].GetString());
    }

    [Fact]
    public async Task A_channel_not_live_here_is_a_409_and_an_unknown_one_a_404()
    {
        string id = await ChannelAsync();
        using var notLive = await PostAsync($"/api/channels/{id}/breaks", """{"duration":30}""");
        Assert.Equal(HttpStatusCode.Conflict, notLive.StatusCode);
        Assert.Contains("no live broadcast on this node", await notLive.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var unknown = await PostAsync("/api/channels/nope/breaks", """{"duration":30}""");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Only_admins_and_only_json()
    {
        string id = await ChannelAsync();
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        using var refused = await anonymous.PostAsync($"/api/channels/{id}/breaks", new StringContent("""{"duration":30}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var text = await _host.Client.PostAsync($"/api/channels/{id}/breaks", new StringContent("""{"duration":30}""", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
    }
}
