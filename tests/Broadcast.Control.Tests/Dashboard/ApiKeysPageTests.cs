using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Pages;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>The dashboard's API keys page: a key made shows its token in that answer only, is listed, and is revoked.</summary>
public sealed class ApiKeysPageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private ApiKeyService _keys = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        var channelRows = new SqlChannelRepository(_database);
        _channels = new ChannelService(channelRows, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        _keys = new ApiKeyService(new SqlApiKeyRepository(_database), channelRows, TimeProvider.System, NullLogger<ApiKeyService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private ApiKeysModel Page()
    {
        var page = new ApiKeysModel(_keys, _channels, TimeProvider.System);
        page.PageContext = new Microsoft.AspNetCore.Mvc.RazorPages.PageContext { HttpContext = new DefaultHttpContext() };
        return page;
    }

    [Fact]
    public async Task A_key_made_on_the_page_is_shown_once_listed_and_revoked()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Match"))).Channel;
        var page = Page();
        page.Input = new ApiKeysModel.CreateInput { Name = "Site", Scopes = [ApiScopes.ClipsWrite], Channels = [channel.Id], Days = 30 };
        Assert.IsType<PageResult>(await page.OnPostCreateAsync(CancellationToken.None));
        Assert.StartsWith("bk_", page.NewToken, StringComparison.Ordinal);
        Assert.Equal("no-store", page.Response.Headers.CacheControl.ToString());
        var key = Assert.Single(page.Keys);
        Assert.Equal(("Site", channel.Id), (key.Name, Assert.Single(key.Channels)));
        Assert.Equal("Match", page.ChannelName(channel.Id));
        Assert.InRange(key.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        Assert.Equal(ApiKeyRefusal.None, (await _keys.AuthenticateAsync(page.NewToken!)).Refusal);

        var again = Page();
        await again.OnGetAsync(CancellationToken.None);
        Assert.Null(again.NewToken);
        Assert.Single(again.Keys);

        var revoke = Page();
        Assert.IsType<RedirectToPageResult>(await revoke.OnPostRevokeAsync(key.Id, CancellationToken.None));
        Assert.Contains("revoked", revoke.Flash, StringComparison.Ordinal);
        Assert.Empty(await _keys.ListAsync());
    }

    [Fact]
    public async Task A_key_without_scopes_is_refused_with_the_field_and_nothing_is_made()
    {
        var page = Page();
        page.Input = new ApiKeysModel.CreateInput { Name = "Site" };
        Assert.IsType<PageResult>(await page.OnPostCreateAsync(CancellationToken.None));
        Assert.Null(page.NewToken);
        Assert.False(page.ModelState.IsValid);
        Assert.True(page.ModelState.ContainsKey("Input.Scopes"));
        Assert.Empty(await _keys.ListAsync());
    }
}
