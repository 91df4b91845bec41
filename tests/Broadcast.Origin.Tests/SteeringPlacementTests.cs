using System.Globalization;
using System.Text.Json;
using Broadcast.Origin.Steering;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Broadcast.Origin.Tests;

/// <summary>
/// Where the steering server places players, asked over HTTP the way hls.js, dash.js and Shaka ask: a new player's
/// first request names the manifest's default pathway (hls.js, dash.js) or nothing (Shaka) and must be placed by weight
/// all the same; a returning player brings the session of its previous answer and keeps the pathway it names while that
/// pathway is healthy.
/// </summary>
public sealed class SteeringPlacementTests(ITestOutputHelper output)
{
    public enum Player
    {
        HlsJs,
        DashJs,
        Shaka,
    }

    private const string DefaultPathway = "edge-a";
    private const string OtherPathway = "edge-b";
    private const int NewPlayers = 400;

    /// <summary>
    /// A new player's first steering request, as the player builds it from the manifest's SERVER-URI (the steering
    /// server's URL, without query) and what it knows before any answer:
    /// <list type="bullet">
    /// <item>hls.js 1.7 (<c>ContentSteeringController.loadSteeringManifest</c>): <c>_HLS_pathway</c> set to the master's
    /// <c>PATHWAY-ID</c> and <c>_HLS_throughput</c> to its bandwidth estimate (<c>abrEwmaDefaultEstimate</c>, 500000,
    /// until it has measured one), through <c>URLSearchParams.set</c>.</item>
    /// <item>dash.js 5.2 (<c>ContentSteeringController._getSteeringServerUrl</c>): the service locations it has fetched
    /// from, BaseURL's then Location's, as a quoted list in <c>_DASH_pathway</c>, and their mean throughputs in
    /// <c>_DASH_throughput</c>, left out while none is measured; <c>queryBeforeStart="false"</c>, so it asks after it has
    /// fetched from the <c>defaultServiceLocation</c>.</item>
    /// <item>Shaka 5.2 (<c>ContentSteeringManager.addQueryParams_</c>): nothing until an answer gave it a priority.</item>
    /// </list>
    /// </summary>
    private static string FirstRequest(Player player, int i) => player switch
    {
        Player.HlsJs => string.Create(CultureInfo.InvariantCulture,
            $"/steering/hls?_HLS_pathway={DefaultPathway}&_HLS_throughput={(i % 2 == 0 ? 500_000 : 2_000_000 + (i * 1000))}"),
        Player.DashJs => i % 2 == 0
            ? string.Create(CultureInfo.InvariantCulture,
                $"/steering/dash?_DASH_pathway=%22{DefaultPathway}%2C{DefaultPathway}%22&_DASH_throughput={4_000_000 + i}%2C{4_000_000 + i}")
            : $"/steering/dash?_DASH_pathway=%22{DefaultPathway}%2C{DefaultPathway}%22",
        _ => i % 2 == 0 ? "/steering/hls" : "/steering/dash",
    };

    /// <summary>A returning player's request: the previous answer's RELOAD-URI with the pathway it is on, as each player adds it.</summary>
    private static string NextRequest(Player player, string reloadUri, string pathway) => player switch
    {
        Player.HlsJs => reloadUri + $"&_HLS_pathway={pathway}&_HLS_throughput=2500000",
        Player.DashJs => reloadUri + $"&_DASH_pathway=%22{pathway}%2C{pathway}%22&_DASH_throughput=2500000%2C2500000",
        // Shaka adds the pathway of the manifest type it plays, unquoted, through goog.Uri's query data.
        _ => reloadUri.Contains(SteeringEndpoints.HlsPath + "?", StringComparison.Ordinal)
            ? reloadUri + $"&_HLS_pathway={pathway}&_HLS_throughput=2500000"
            : reloadUri + $"&_DASH_pathway={pathway}&_DASH_throughput=2500000",
    };

    [Theory]
    [InlineData(Player.HlsJs, true)]
    [InlineData(Player.HlsJs, false)]
    [InlineData(Player.DashJs, true)]
    [InlineData(Player.DashJs, false)]
    [InlineData(Player.Shaka, true)]
    [InlineData(Player.Shaka, false)]
    public async Task New_players_are_placed_by_weight_whatever_they_name_and_returning_players_keep_their_pathway(Player player, bool defaultIsHeavier)
    {
        string heavier = defaultIsHeavier ? DefaultPathway : OtherPathway;
        await using Steered steered = await Steered.StartAsync(defaultWeight: defaultIsHeavier ? 3 : 1, otherWeight: defaultIsHeavier ? 1 : 3);

        var answers = new List<(string First, string ReloadUri)>(NewPlayers);
        for (int i = 0; i < NewPlayers; i++) answers.Add(await steered.AskAsync(FirstRequest(player, i)));
        double share = answers.Count(a => a.First == heavier) / (double)NewPlayers;
        output.WriteLine($"{player}: {share:P1} of {NewPlayers} new players on the heavier pathway {heavier}");
        Assert.True(share is >= 0.65 and <= 0.85,
            $"{player}: {share:P1} of {NewPlayers} new players on the heavier pathway ({heavier}, weights 3:1); expected 65-85 %");

        // Each player asks again with the marker of its answer and the pathway it was put on: it stays there.
        foreach (var (first, reloadUri) in answers)
        {
            var (again, nextReloadUri) = await steered.AskAsync(NextRequest(player, reloadUri, first));
            Assert.Equal(first, again);
            Assert.Equal(reloadUri, nextReloadUri);
        }

        // A returning player on the lighter pathway (placed there, or moved by its own failover) is not moved for the weights.
        string lighter = defaultIsHeavier ? OtherPathway : DefaultPathway;
        foreach (var (_, reloadUri) in answers.Take(20))
            Assert.Equal(lighter, (await steered.AskAsync(NextRequest(player, reloadUri, lighter))).First);
    }

    [Theory]
    [InlineData(Player.HlsJs)]
    [InlineData(Player.DashJs)]
    [InlineData(Player.Shaka)]
    public async Task A_returning_player_on_an_unhealthy_pathway_is_moved_and_new_players_avoid_it(Player player)
    {
        await using Steered steered = await Steered.StartAsync(defaultWeight: 1, otherWeight: 3);
        var onOther = new List<string>();
        for (int i = 0; onOther.Count < 5 && i < 200; i++)
        {
            var (first, reloadUri) = await steered.AskAsync(FirstRequest(player, i));
            if (first == OtherPathway) onOther.Add(reloadUri);
        }

        Assert.Equal(5, onOther.Count);
        await steered.StopOtherEdgeAsync();
        foreach (string reloadUri in onOther)
            Assert.Equal(DefaultPathway, (await steered.AskAsync(NextRequest(player, reloadUri, OtherPathway))).First);
        for (int i = 0; i < 50; i++) Assert.Equal(DefaultPathway, (await steered.AskAsync(FirstRequest(player, i))).First);
    }

    /// <summary>
    /// An origin whose two pathways are stand-in edges (origins of their own, probed at <c>/time</c> every 100 ms), both
    /// healthy before the first request.
    /// </summary>
    private sealed class Steered : IAsyncDisposable
    {
        private readonly OriginServer _defaultEdge;
        private OriginServer? _otherEdge;

        private Steered(OriginServer origin, OriginServer defaultEdge, OriginServer otherEdge)
        {
            Origin = origin;
            _defaultEdge = defaultEdge;
            _otherEdge = otherEdge;
        }

        public OriginServer Origin { get; }

        private SteeringPathways Pathways => Origin.Services.GetRequiredService<SteeringPathways>();

        public static async Task<Steered> StartAsync(int defaultWeight, int otherWeight)
        {
            OriginServer defaultEdge = await OriginServer.StartAsync(new InMemorySegmentStore());
            OriginServer otherEdge = await OriginServer.StartAsync(new InMemorySegmentStore());
            var settings = new Dictionary<string, string?>
            {
                ["Steering:Pathways:0:Id"] = DefaultPathway,
                ["Steering:Pathways:0:BaseUrl"] = defaultEdge.BaseAddress.ToString().TrimEnd('/'),
                ["Steering:Pathways:0:Weight"] = defaultWeight.ToString(CultureInfo.InvariantCulture),
                ["Steering:Pathways:1:Id"] = OtherPathway,
                ["Steering:Pathways:1:BaseUrl"] = otherEdge.BaseAddress.ToString().TrimEnd('/'),
                ["Steering:Pathways:1:Weight"] = otherWeight.ToString(CultureInfo.InvariantCulture),
                ["Steering:ProbePath"] = "/time",
                ["Steering:ProbeIntervalMilliseconds"] = "100",
                ["Steering:ProbeTimeoutMilliseconds"] = "1000",
            };
            var steered = new Steered(await OriginServer.StartAsync(new InMemorySegmentStore(), settings: settings), defaultEdge, otherEdge);
            await WaitFor.ConditionAsync(() => steered.Pathways.Statuses() is [{ Healthy: true, LastStatus: 200 }, { Healthy: true, LastStatus: 200 }],
                TimeSpan.FromSeconds(20), "both pathways probed healthy", () => string.Join("; ", steered.Pathways.Statuses()));
            return steered;
        }

        /// <summary>The answer's first pathway and its RELOAD-URI.</summary>
        public async Task<(string First, string ReloadUri)> AskAsync(string request)
        {
            using JsonDocument answer = JsonDocument.Parse(await Origin.Client.GetStringAsync(request));
            string reloadUri = answer.RootElement.GetProperty("RELOAD-URI").GetString()!;
            Assert.Contains("?" + SteeringEndpoints.SessionParameter + "=", reloadUri, StringComparison.Ordinal);
            return (answer.RootElement.GetProperty("PATHWAY-PRIORITY")[0].GetString()!, reloadUri);
        }

        public async Task StopOtherEdgeAsync()
        {
            await _otherEdge!.DisposeAsync();
            _otherEdge = null;
            await WaitFor.ConditionAsync(() => Pathways.Statuses() is [{ Healthy: true }, { Healthy: false }],
                TimeSpan.FromSeconds(20), "the stopped edge's pathway to turn unhealthy", () => string.Join("; ", Pathways.Statuses()));
        }

        public async ValueTask DisposeAsync()
        {
            await Origin.DisposeAsync();
            await _defaultEdge.DisposeAsync();
            if (_otherEdge is not null) await _otherEdge.DisposeAsync();
        }
    }
}
