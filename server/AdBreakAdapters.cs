using Broadcast.Control.Breaks;
using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Microsoft.Extensions.Options;

namespace Broadcast.Server;

/// <summary>
/// The breaks API on a node that packages: asks this node's packaging of the channel for the break (the node that holds
/// the stream, like "End broadcast"), then waits a little for its segment boundary so the answer can name its START-DATE.
/// </summary>
internal sealed class PipelineAdBreakInserter(LivePackager packager, TimeProvider time, IOptions<PackagerOptions> options) : IAdBreakInserter
{
    public async ValueTask<AdBreakInsertion> InsertAsync(Channel channel, TimeSpan duration, CancellationToken cancellationToken)
    {
        var requestedAt = time.GetUtcNow();
        uint id = (uint)Random.Shared.NextInt64(1, uint.MaxValue);
        var started = new TaskCompletionSource<DateTimeOffset>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(string name, AdBreak b)
        {
            // To the millisecond, as START-DATE is written (RFC 8216 dates; ManifestFormat.DateTime).
            if (name == channel.Slug
                && b.EventId == id) started.TrySetResult(b.StartDate.AddTicks(-(b.StartDate.Ticks % TimeSpan.TicksPerMillisecond)));
        }
        packager.BreakChanged += OnChanged;
        try
        {
            var cue = new SpliceCue(id, null, duration.Ticks * Timescales.Video / TimeSpan.TicksPerSecond, null, "api");
            switch (await packager.InsertBreakAsync(channel.Slug, cue, cancellationToken).ConfigureAwait(false))
            {
                case null: return new AdBreakInsertion(AdBreakState.NotLive, 0, duration, requestedAt, null);
                case false: return new AdBreakInsertion(AdBreakState.Busy, 0, duration, requestedAt, null);
            }
            // The boundary comes within a segment (plus the transcoder's delay for a rung-led ladder); past that, say "waiting".
            var wait = TimeSpan.FromSeconds(options.Value.SegmentSeconds * 2 + 2);
            try
            {
                var start = await started.Task.WaitAsync(wait, time, cancellationToken).ConfigureAwait(false);
                return new AdBreakInsertion(AdBreakState.Started, id, duration, requestedAt, start);
            }
            catch (TimeoutException)
            {
                return new AdBreakInsertion(AdBreakState.Waiting, id, duration, requestedAt, null);
            }
        }
        finally
        {
            packager.BreakChanged -= OnChanged;
        }
    }
}
