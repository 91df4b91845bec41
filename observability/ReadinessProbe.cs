using System.Text.Json;
using Broadcast.Control.Persistence;
using Broadcast.Control.Playback;
using Broadcast.Storage;

namespace Broadcast.Observability;

/// <summary>
/// <c>GET /readyz</c>: ready when the database answers, the store can be read and (origin-only nodes) the private
/// playback snapshot has arrived. The answer is status words only, e.g.
/// <c>{"status":"unready","checks":{"database":"unreachable","store":"ok"}}</c>: it is public (probes, load
/// balancers), so an exception's text (host names, paths, SQL, credentials in a connection error) never goes into it.
/// The exception is logged instead, once when a check starts failing (event 9401) and again when it recovers (9402).
/// </summary>
internal sealed partial class ReadinessProbe(IServiceProvider services, ILogger<ReadinessProbe> logger)
{
    public const string Ok = "ok";
    public const string Unreachable = "unreachable";
    public const string Waiting = "waiting";

    private readonly Dictionary<string, bool> _failing = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<IResult> HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        var checks = new Dictionary<string, string>(StringComparer.Ordinal);
        if (services.GetService<ControlDatabase>() is { } database)
        {
            checks["database"] = await CheckAsync("database", async () =>
            {
                await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
                // A pooled connection opens without a round trip: ask the server, so a restarted database shows.
                await using var probe = connection.CreateCommand();
                probe.CommandText = "SELECT 1";
                probe.CommandTimeout = 5;
                await probe.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }

        if (services.GetService<RemotePlaybackAccess>() is { } remote)
        {
            checks["playback"] = remote.IsReady ? Ok : Waiting;
        }

        if (services.GetService<ISegmentStore>() is { } store)
        {
            checks["store"] = await CheckAsync("store", async () => await store.GetAsync("readyz-probe", cancellationToken).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }

        bool ready = checks.Values.All(v => v == Ok);
        context.Response.Headers.CacheControl = "no-store";
        var body = new Dictionary<string, object> { ["status"] = ready ? "ready" : "unready", ["checks"] = checks };
        return Results.Json(body, JsonSerializerOptions.Web, statusCode: ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private async Task<string> CheckAsync(string name, Func<Task> probe, CancellationToken cancellationToken)
    {
        try
        {
            await probe().ConfigureAwait(false);
            if (Transition(name, failing: false)) LogRecovered(name);
            return Ok;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            if (Transition(name, failing: true)) LogFailed(ex, name);
            else LogStillFailing(name, ex.GetType().Name);
            return Unreachable;
        }
    }

    /// <summary>True when <paramref name="name"/> changes state (first failure, or the first success after failures).</summary>
    private bool Transition(string name, bool failing)
    {
        lock (_gate)
        {
            bool was = _failing.TryGetValue(name, out bool f) && f;
            _failing[name] = failing;
            return was != failing;
        }
    }

    [LoggerMessage(EventId = 9401, Level = LogLevel.Warning, Message = "Readiness: the {Check} check failed; /readyz answers unready")]
    private partial void LogFailed(Exception exception, string check);

    [LoggerMessage(EventId = 9402, Level = LogLevel.Information, Message = "Readiness: the {Check} check passes again")]
    private partial void LogRecovered(string check);

    [LoggerMessage(EventId = 9403, Level = LogLevel.Debug, Message = "Readiness: the {Check} check still fails ({ExceptionType})")]
    private partial void LogStillFailing(string check, string exceptionType);
}
