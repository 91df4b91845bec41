using System.Buffers;
using System.Text.Json;
using Broadcast.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Steering;

/// <summary>
/// Shares the operator's steering changes between nodes, and keeps them across restarts, through the store every node
/// already reads: a change on one node (API or dashboard) writes <see cref="StoreKeys.SteeringOverrides"/>, and every
/// node reads it again each <see cref="SteeringOptions.OverridesRefreshMilliseconds"/> and at start. The last change
/// written wins. Reads go to the store itself, not the origin's cache of it, which another node's write would not reach.
/// </summary>
public sealed class SteeringOverrides : BackgroundService
{
    /// <summary>A document larger than this is not an overrides document (eight pathways fit in well under 1 KiB).</summary>
    public const int MaxDocumentBytes = 16 * 1024;

    private readonly SteeringPathways _pathways;
    private readonly ISegmentStore _store;
    private readonly TimeSpan _interval;
    private readonly ILogger<SteeringOverrides> _logger;
    private readonly SemaphoreSlim _changed = new(0, 1);
    private string? _appliedETag;

    public SteeringOverrides(SteeringPathways pathways, [FromKeyedServices(OriginServiceCollectionExtensions.InnerStoreKey)] ISegmentStore store,
        IOptions<SteeringOptions> options, ILogger<SteeringOverrides> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _pathways = pathways;
        _store = store;
        _interval = TimeSpan.FromMilliseconds(options.Value.OverridesRefreshMilliseconds);
        _logger = logger;
        _pathways.Overridden += OnOverridden;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReadAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The store is a dependency that comes back; until then this node keeps the changes it has.
                OriginLog.SteeringOverridesUnreadable(_logger, e.Message);
            }

            bool changedHere;
            try
            {
                changedHere = await _changed.WaitAsync(_interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (changedHere) await WriteAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private void OnOverridden()
    {
        // One pending write covers any number of changes: it writes the state at the time it runs.
        try { _changed.Release(); } catch (SemaphoreFullException) { }
    }

    private async Task ReadAsync(CancellationToken cancellationToken)
    {
        StoredObject? stored = await _store.GetAsync(StoreKeys.SteeringOverrides, cancellationToken).ConfigureAwait(false);
        if (stored is null || stored.ETag == _appliedETag) return;
        _appliedETag = stored.ETag;
        if (Parse(stored.Data.Span) is { } shared) _pathways.ApplyShared(shared);
        else OriginLog.SteeringOverridesUnreadable(_logger, $"{StoreKeys.SteeringOverrides} is not an overrides document; ignored");
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        byte[] document = Write(_pathways.Statuses());
        try
        {
            await _store.PutAsync(StoreKeys.SteeringOverrides, document, "application/json", "no-store", cancellationToken).ConfigureAwait(false);
            // This node already holds what it wrote: the next read need not apply it again.
            _appliedETag = (await _store.GetAsync(StoreKeys.SteeringOverrides, cancellationToken).ConfigureAwait(false))?.ETag;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            OriginLog.SteeringOverridesUnreadable(_logger, "writing failed: " + e.Message);
        }
    }

    /// <summary><c>{"version":1,"pathways":[{"id":"cdn-a","weight":1,"drained":false},…]}</c></summary>
    public static byte[] Write(IEnumerable<PathwayStatus> pathways)
    {
        ArgumentNullException.ThrowIfNull(pathways);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteStartArray("pathways");
            foreach (PathwayStatus p in pathways)
            {
                json.WriteStartObject();
                json.WriteString("id", p.Id);
                json.WriteNumber("weight", p.Weight);
                json.WriteBoolean("drained", p.Drained);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The pathways of an overrides document; null when the bytes are not one (malformed, too large, other version).</summary>
    public static List<(string Id, int Weight, bool Drained)>? Parse(ReadOnlySpan<byte> document)
    {
        // Invalid UTF-8 inside a string fails only when the string is read (found by the fuzz test): refused up front.
        if (document.Length is 0 or > MaxDocumentBytes || !System.Text.Unicode.Utf8.IsValid(document)) return null;
        try
        {
            var reader = new Utf8JsonReader(document, new JsonReaderOptions { MaxDepth = 4 });
            using JsonDocument json = JsonDocument.ParseValue(ref reader);
            JsonElement root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("version", out JsonElement version)
                || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != 1
                || !root.TryGetProperty("pathways", out JsonElement list) || list.ValueKind != JsonValueKind.Array)
                return null;
            var result = new List<(string, int, bool)>();
            foreach (JsonElement p in list.EnumerateArray())
            {
                if (p.ValueKind != JsonValueKind.Object
                    || !p.TryGetProperty("id", out JsonElement id) || id.ValueKind != JsonValueKind.String
                    || !p.TryGetProperty("weight", out JsonElement weight) || weight.ValueKind != JsonValueKind.Number
                    || !weight.TryGetInt32(out int w)
                    || !p.TryGetProperty("drained", out JsonElement drained) || drained.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    return null;
                result.Add((id.GetString()!, w, drained.GetBoolean()));
                if (result.Count > SteeringOptions.MaxPathways * 4) return null;
            }

            return result;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public override void Dispose()
    {
        _pathways.Overridden -= OnOverridden;
        _changed.Dispose();
        base.Dispose();
    }
}
