using System.Security.Cryptography;
using Broadcast.Control.Dashboard.Pages;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// The dashboard's webhooks page: an endpoint made shows its secret in that answer only; its deliveries are listed with
/// their attempts; "send test event" and "redeliver" queue a delivery; a disabled endpoint is there for the banner.
/// </summary>
public sealed class WebhooksPageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ControlDatabase _database = null!;
    private WebhookEndpointService _endpoints = null!;
    private SqlWebhookDeliveries _deliveries = null!;
    private WebhookOutbox _outbox = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        var guard = new OutboundGuard(new OutboundUrlPolicy(OutboundAllowList.Parse([], [])), new FakeHostResolver());
        _endpoints = new WebhookEndpointService(new SqlWebhookEndpointRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            guard, TimeProvider.System, NullLogger<WebhookEndpointService>.Instance);
        _deliveries = new SqlWebhookDeliveries(_database);
        _outbox = new WebhookOutbox(_database, TimeProvider.System, NullLogger<WebhookOutbox>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private WebhooksModel Page()
    {
        var page = new WebhooksModel(_endpoints, _deliveries, _outbox, TimeProvider.System);
        page.PageContext = new PageContext { HttpContext = new DefaultHttpContext() };
        return page;
    }

    [Fact]
    public async Task An_endpoint_made_on_the_page_shows_its_secret_once_and_lists_its_deliveries_with_test_and_redeliver()
    {
        var page = Page();
        page.Input = new WebhooksModel.CreateInput { Url = "https://hooks.example.com/broadcast", Description = "site", EventTypes = ["broadcast.started"] };
        Assert.IsType<PageResult>(await page.OnPostCreateAsync(CancellationToken.None));
        Assert.StartsWith("whsec_", page.NewSecret, StringComparison.Ordinal);
        Assert.Equal("no-store", page.Response.Headers.CacheControl.ToString());
        var endpoint = Assert.Single(page.Endpoints);
        Assert.Equal(endpoint, page.Opened);

        Assert.IsType<RedirectToPageResult>(await Page().OnPostTestAsync(endpoint.Id, CancellationToken.None));
        var shown = Page();
        await shown.OnGetAsync(endpoint.Id, CancellationToken.None);
        Assert.Null(shown.NewSecret);
        var (delivery, attempts) = Assert.Single(shown.Deliveries);
        Assert.Equal(WebhookEventTypes.Test, delivery.EventType);
        Assert.Empty(attempts);

        // Finished (as a worker would), it can be sent again.
        var claimed = Assert.Single(await _deliveries.ClaimAsync(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1), 10));
        await _deliveries.CompleteAsync(claimed, new DeliveryAttempt(DateTimeOffset.UtcNow, 410, null, 12, "gone"), null, TimeSpan.FromHours(24));
        var redeliver = Page();
        Assert.IsType<RedirectToPageResult>(await redeliver.OnPostRedeliverAsync(endpoint.Id, delivery.Id, CancellationToken.None));
        Assert.Contains("queued again", redeliver.Flash, StringComparison.Ordinal);
        var after = Page();
        await after.OnGetAsync(endpoint.Id, CancellationToken.None);
        Assert.Equal(SqlWebhookDeliveries.Pending, after.Deliveries[0].Delivery.State);
        Assert.Equal((410, "gone"), (after.Deliveries[0].Attempts[0].Status, after.Deliveries[0].Attempts[0].AnswerHead));
    }

    [Fact]
    public async Task A_refused_url_is_a_field_error_and_a_disabled_endpoint_is_listed_with_its_reason()
    {
        var page = Page();
        page.Input = new WebhooksModel.CreateInput { Url = "http://10.0.0.5/hooks" };
        Assert.IsType<PageResult>(await page.OnPostCreateAsync(CancellationToken.None));
        Assert.Null(page.NewSecret);
        Assert.True(page.ModelState.ContainsKey("Input.Url"));
        Assert.Empty(await _endpoints.ListAsync());

        var issued = await _endpoints.CreateAsync(new WebhookEndpointSpec("https://hooks.example.com/b", null, null, true));
        await Sql.ExecuteAsync(_database, "UPDATE webhook_endpoints SET enabled = @false, disabled_reason = 'Every delivery attempt since … failed.'",
            c => Sql.Add(c, "false", false), CancellationToken.None);
        var listed = Page();
        await listed.OnGetAsync(null, CancellationToken.None);
        var off = Assert.Single(listed.Endpoints);
        Assert.False(off.Enabled);
        Assert.NotNull(off.DisabledReason);

        Assert.IsType<RedirectToPageResult>(await Page().OnPostEnableAsync(issued.Endpoint.Id, true, CancellationToken.None));
        var on = (await _endpoints.GetAsync(issued.Endpoint.Id))!;
        Assert.True(on.Enabled);
        Assert.Null(on.DisabledReason);
    }
}
