using System.Security.Cryptography;
using Broadcast.Compositor.Audio;
using Broadcast.Compositor.Inputs;
using Broadcast.Compositor.Layouts;
using Broadcast.Compositor.Video;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Compositor.Engine;

/// <summary>
/// An input of a hosted program: a channel's stream (<see cref="Channel"/>), a still image (<see cref="Image"/>, PNG or
/// JPEG bytes, decoded to <see cref="Width"/> x <see cref="Height"/>), RTP on ports of its own (<see cref="Rtp"/>:
/// a room participant, fed through <see cref="ProgramEngine.RtpInput"/>), or a URL or media-library file (<see cref="Feed"/>,
/// opened through the host's <see cref="IProgramFeeds"/>).
/// </summary>
public sealed record ProgramInputSource(string Id, string? Channel, byte[]? Image, int Width, int Height)
{
    public bool Rtp { get; init; }

    public FeedSource? Feed { get; init; }

    /// <summary>The name a channel, RTP or feed input's placeholder shows while it has no picture (see <see cref="NameCard"/>); none:
    /// the plain dark tile.</summary>
    public string? Label { get; init; }

    public static ProgramInputSource RtpSlot(string id) => new(id, null, null, 0, 0) { Rtp = true };

    public static ProgramInputSource Fed(string id, FeedSource feed) => new(id, null, null, 0, 0) { Feed = feed };
}

/// <summary>An image input ffmpeg cannot decode; <see cref="Index"/> is its place in the inputs.</summary>
public sealed class ProgramImageException(int index, string message, Exception inner) : Exception(message, inner)
{
    public int Index { get; } = index;
}

/// <summary>The program's channel is on air from another input (an encoder, a pull): the program cannot publish into it.</summary>
public sealed class ProgramChannelOnAirException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// The programs of one node, one <see cref="ProgramEngine"/> per program channel. Applying the same inputs again swaps
/// the layout and mix in live; other inputs are changed on air in the running engine (inputs kept keep decoding, an
/// image kept is not decoded again), so the channel's broadcast goes on. Changes to one node's programs are taken one
/// at a time, so the last change applied is the one that runs. Feed inputs (URLs, library files) are opened through
/// <paramref name="feeds"/> into a hub of the host's own, kept while an input keeps its source and closed once the engine
/// no longer decodes them.
/// </summary>
public sealed partial class ProgramHost(LiveStreamRegistry registry, ProgramSettings settings, ILogger logger, IProgramFeeds? feeds = null)
    : IAsyncDisposable
{
    // Feeds publish here, never into the node's channels: a feed is no channel's broadcast, and no packager reads it.
    private readonly LiveStreamRegistry _feedHub = new();
    private readonly ProgramImages _images = new(settings, logger);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, Hosted> _programs = new(StringComparer.Ordinal);

    public ProgramSettings Settings => settings;

    /// <summary>
    /// A program's broadcast was ended from outside (an admin's "End broadcast", its event's end, its lease taken by
    /// another node): its engine has been stopped here. The channel, the engine that ran it and whose it was.
    /// </summary>
    public event Action<string, ProgramEngine, ProgramOwner>? EndedFromOutside;

    /// <summary>
    /// Starts the channel's program for <paramref name="owner"/>, or changes the one it runs, and returns the engine that
    /// runs it. A program that starts publishes with <paramref name="ticket"/>, the publish gate's leave for the channel,
    /// which the caller asks for when the host runs no program of the channel (<see cref="Find(string)"/>).
    /// </summary>
    /// <exception cref="ProgramOwnedException">The channel runs a program of the other owner here (nothing changed).</exception>
    /// <exception cref="LayoutException">The layout cannot be drawn with these inputs (nothing changed).</exception>
    /// <exception cref="ProgramImageException">An image input cannot be decoded (nothing changed).</exception>
    /// <exception cref="ProgramChannelOnAirException">The channel is on air from another input.</exception>
    /// <exception cref="ProgramFeedException">A feed input cannot be opened on this node (nothing changed).</exception>
    public async Task<ProgramEngine> ApplyAsync(string channel, ProgramOwner owner, IReadOnlyList<ProgramInputSource> inputs, ProgramLayout layout,
        IReadOnlyDictionary<string, MixSettings> mix, LayoutTransition transition, PublishTicket? ticket, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        ArgumentNullException.ThrowIfNull(inputs);
        string inputsKey = InputsKey(inputs);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Hosted? running;
            lock (_programs) _programs.TryGetValue(channel, out running);
            if (running is not null && running.Owner != owner) throw new ProgramOwnedException(running.Owner);
            if (running is not null && running.InputsKey == inputsKey)
            {
                running.Engine.Apply(layout, mix, transition);
                return running.Engine;
            }

            var rtp = inputs.Where(i => i.Rtp).Select(i => i.Id).ToList();
            var imageKeys = inputs.Where(i => i.Image is not null).ToDictionary(i => i.Id, InputKey, StringComparer.Ordinal);
            var images = await _images.DecodeAsync(inputs, imageKeys, running?.Images, running?.ImageKeys, cancellationToken).ConfigureAwait(false);
            var cardLabels = ProgramImages.CardLabels(inputs);
            Dictionary<string, Yuva420Image> cards;
            try
            {
                cards = await _images.RenderCardsAsync(channel, cardLabels, running?.CardLabels, running?.Cards,
                    cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ProgramImages.DisposeNotIn(images, running?.Images);
                throw;
            }
            Dictionary<string, HostedFeed> opened;
            try
            {
                opened = OpenFeeds(channel, inputs, running);
            }
            catch
            {
                ProgramImages.DisposeNotIn(images, running?.Images);
                ProgramImages.DisposeNotIn(cards, running?.Cards);
                throw;
            }
            // In the request's order: a feed decodes from the host's feed hub, a channel from the node's.
            var channels = inputs.Where(i => i.Channel is not null || i.Feed is not null)
                .Select(i => i.Feed is null ? new ChannelInput(i.Id, i.Channel!) : new ChannelInput(i.Id, opened[i.Id].Stream, _feedHub))
                .ToList();
            if (running is not null)
            {
                try
                {
                    await running.Engine.ChangeInputsAsync(channels, rtp, images, cards, layout, mix, transition,
                        cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    ProgramImages.DisposeNotIn(images, running.Images);
                    ProgramImages.DisposeNotIn(cards, running.Cards);
                    await CloseFeedsNotInAsync(opened, running.Feeds).ConfigureAwait(false);
                    throw;
                }
                ProgramImages.DisposeNotIn(running.Images, images);
                ProgramImages.DisposeNotIn(running.Cards, cards);
                // The engine stopped the decoders it left out before it returned: their feeds have no reader left.
                await CloseFeedsNotInAsync(running.Feeds, opened).ConfigureAwait(false);
                lock (_programs) _programs[channel] = new Hosted(running.Engine, owner, inputsKey, images, imageKeys, cards, cardLabels, opened);
                return running.Engine;
            }

            ProgramEngine? engine = null;
            try
            {
                engine = new ProgramEngine(channel, registry, settings, channels, images, layout, logger, rtpInputs: rtp, cards: cards)
                {
                    Protocol = owner == ProgramOwner.Room ? "room" : "program",
                };
                // The first scene is a cut: a fade needs a picture to fade from.
                if (mix.Count > 0) engine.Apply(layout, mix, LayoutTransition.Cut);
                try
                {
                    engine.Start(ticket ?? throw new ArgumentNullException(nameof(ticket), "a program that starts needs the publish gate's ticket"));
                }
                catch (InvalidOperationException e)
                {
                    throw new ProgramChannelOnAirException($"The channel is on air from another input ({e.Message}); end that broadcast first.", e);
                }
                lock (_programs) _programs[channel] = new Hosted(engine, owner, inputsKey, images, imageKeys, cards, cardLabels, opened);
                var started = engine;
                engine.Output!.Completed += stream => _ = StopEndedAsync(channel, started, owner);
                return engine;
            }
            catch
            {
                if (engine is not null) await engine.DisposeAsync().ConfigureAwait(false);
                foreach (var image in images.Values) image.Dispose();
                foreach (var card in cards.Values) card.Dispose();
                await CloseFeedsNotInAsync(opened, null).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Gives inputs of the running <paramref name="engine"/> new names for their placeholders (null: none, the plain dark
    /// tile); inputs not named keep theirs. Nothing else changes: the inputs keep decoding and the layout and mix stay
    /// (the new cards come in as a cut, invisible where the pictures are on air). False when the channel runs another
    /// engine or none.
    /// </summary>
    public async Task<bool> NameInputsAsync(string channel, ProgramEngine engine, IReadOnlyDictionary<string, string?> labels,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(labels);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Hosted? running;
            lock (_programs) _programs.TryGetValue(channel, out running);
            if (running is null || !ReferenceEquals(running.Engine, engine)) return false;
            var decoders = engine.Inputs;
            var cardLabels = new Dictionary<string, string>(running.CardLabels, StringComparer.Ordinal);
            foreach (var (id, label) in labels)
            {
                if (!decoders.Any(d => d.InputId == id)) continue;
                if (NameCard.Clean(label) is { } cleaned) cardLabels[id] = cleaned;
                else cardLabels.Remove(id);
            }
            if (cardLabels.Count == running.CardLabels.Count
                && cardLabels.All(p => running.CardLabels.TryGetValue(p.Key, out var shown) && shown == p.Value)) return true;

            var cards = await _images.RenderCardsAsync(channel, cardLabels, running.CardLabels, running.Cards,
                cancellationToken).ConfigureAwait(false);
            var channels = decoders.OfType<ChannelInputDecoder>().Select(d => new ChannelInput(d.InputId, d.Channel, d.Hub)).ToList();
            var rtp = decoders.OfType<RtpInputDecoder>().Select(d => d.InputId).ToList();
            try
            {
                await engine.ChangeInputsAsync(channels, rtp, running.Images, cards, engine.Layout, null, LayoutTransition.Cut,
                    cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                ProgramImages.DisposeNotIn(cards, running.Cards);
                throw;
            }
            ProgramImages.DisposeNotIn(running.Cards, cards);
            lock (_programs) _programs[channel] = running with { Cards = cards, CardLabels = cardLabels };
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The engine running the channel's program, whoever's it is, or null.</summary>
    public ProgramEngine? Find(string channel)
    {
        lock (_programs) return _programs.TryGetValue(channel, out var hosted) ? hosted.Engine : null;
    }

    /// <summary>The engine running the channel's program when it is <paramref name="owner"/>'s, else null.</summary>
    public ProgramEngine? Find(string channel, ProgramOwner owner)
    {
        lock (_programs) return _programs.TryGetValue(channel, out var hosted) && hosted.Owner == owner ? hosted.Engine : null;
    }

    /// <summary>The channels whose program runs here for <paramref name="owner"/>.</summary>
    public IReadOnlyCollection<string> Running(ProgramOwner owner)
    {
        lock (_programs) return [.. _programs.Where(p => p.Value.Owner == owner).Select(p => p.Key)];
    }

    /// <summary>Where each feed input of the channel's program stands, by input id; empty when it runs none here.</summary>
    public IReadOnlyDictionary<string, FeedStatus> FeedStatuses(string channel)
    {
        Hosted? hosted;
        lock (_programs) _programs.TryGetValue(channel, out hosted);
        return hosted is null ? new Dictionary<string, FeedStatus>()
            : hosted.Feeds.ToDictionary(f => f.Key, f => f.Value.Feed.Status, StringComparer.Ordinal);
    }

    /// <summary>
    /// Stops the channel's program (its broadcast ends like an encoder's that left); false when none runs, or when
    /// <paramref name="only"/> is given and another engine runs it now.
    /// </summary>
    public async Task<bool> StopAsync(string channel, ProgramEngine? only = null)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (only is not null && !ReferenceEquals(Find(channel), only)) return false;
            return await StopLockedAsync(channel).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the channel's program when it is <paramref name="owner"/>'s; false when none runs or it is the other owner's.</summary>
    public async Task<bool> StopAsync(string channel, ProgramOwner owner)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            return Find(channel, owner) is not null && await StopLockedAsync(channel).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// The engine's stream ended while it was hosted: whoever ended it (not this host, which lets go of an engine before it
    /// stops it) ended the broadcast, so the engine stops too rather than compose into a stream nobody reads.
    /// </summary>
    private async Task StopEndedAsync(string channel, ProgramEngine engine, ProgramOwner owner)
    {
        try
        {
            if (!await StopAsync(channel, engine).ConfigureAwait(false)) return;
            LogEndedFromOutside(channel);
            EndedFromOutside?.Invoke(channel, engine, owner);
        }
        catch (Exception e)
        {
            LogEndedStopFailed(e, channel);
        }
    }

    /// <summary>Stops every program.</summary>
    public async ValueTask DisposeAsync()
    {
        List<string> channels;
        lock (_programs) channels = [.. _programs.Keys];
        foreach (var channel in channels) await StopAsync(channel).ConfigureAwait(false);
    }

    private async Task<bool> StopLockedAsync(string channel)
    {
        Hosted? hosted;
        lock (_programs)
        {
            if (!_programs.Remove(channel, out hosted)) return false;
        }
        await hosted.Engine.DisposeAsync().ConfigureAwait(false);
        foreach (var image in hosted.Images.Values) image.Dispose();
        foreach (var card in hosted.Cards.Values) card.Dispose();
        await CloseFeedsNotInAsync(hosted.Feeds, null).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// The feeds of the new inputs: one the running program has for the same input and source is kept (its decoder is
    /// kept too, see <see cref="ProgramEngine.ChangeInputsAsync(IReadOnlyList{ChannelInput}, IReadOnlyList{string}, IReadOnlyDictionary{string, Yuva420Image}, IReadOnlyDictionary{string, Yuva420Image}, ProgramLayout, IReadOnlyDictionary{string, MixSettings}?, LayoutTransition, CancellationToken)"/>),
    /// the others are opened now. Each publishes under a name of its program, input and source, so a new source is a new
    /// stream, never the old one's continuation.
    /// </summary>
    private Dictionary<string, HostedFeed> OpenFeeds(string channel, IReadOnlyList<ProgramInputSource> inputs, Hosted? running)
    {
        var result = new Dictionary<string, HostedFeed>(StringComparer.Ordinal);
        if (feeds is null)
        {
            for (int i = 0; i < inputs.Count; i++)
            {
                if (inputs[i].Feed is not null) throw new ProgramFeedException(i,
                    "This node cannot open URL or library sources: its pulls are off (Pull:Enabled).");
            }
            return result;
        }
        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Feed is not { } source) continue;
            string stream = $"{channel}/{inputs[i].Id}/{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(FeedKey(source))))[..16]}";
            if (running is not null && running.Feeds.TryGetValue(inputs[i].Id, out var kept) && kept.Stream == stream)
            {
                result[inputs[i].Id] = kept;
                continue;
            }
            result[inputs[i].Id] = new HostedFeed(stream, feeds.Open(stream, source, _feedHub));
            LogFeedOpened(channel, inputs[i].Id, stream);
        }
        return result;
    }

    private static string FeedKey(FeedSource source) => $"{source.Url}\n{source.Loop}\n{source.AllowUntrustedCertificate}";

    /// <summary>Stops the feeds of <paramref name="feeds"/> that <paramref name="kept"/> does not hold as well.</summary>
    private static async Task CloseFeedsNotInAsync(IReadOnlyDictionary<string, HostedFeed> feeds, IReadOnlyDictionary<string, HostedFeed>? kept)
    {
        foreach (var feed in feeds.Values)
        {
            if (kept is null || !kept.Values.Contains(feed)) await feed.Feed.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Which inputs a program has: equal keys mean the inputs stay and only the layout and mix change.</summary>
    private static string InputsKey(IReadOnlyList<ProgramInputSource> inputs) => string.Join('\n', inputs.Select(InputKey));

    /// <remarks>A label is part of its input's key: a new name swaps the input's card in through a change of inputs,
    /// which keeps the input decoding.</remarks>
    private static string InputKey(ProgramInputSource i) =>
        i.Rtp ? $"{i.Id}=rtp:{NameCard.Clean(i.Label)}" : i.Channel is { } slug ? $"{i.Id}=channel:{slug}:{NameCard.Clean(i.Label)}"
        : i.Feed is { } feed ? $"{i.Id}=feed:{FeedKey(feed)}:{NameCard.Clean(i.Label)}"
        : $"{i.Id}=image:{i.Width}x{i.Height}:{Convert.ToHexStringLower(SHA256.HashData(i.Image!))}";

    private sealed record Hosted(ProgramEngine Engine, ProgramOwner Owner, string InputsKey, IReadOnlyDictionary<string, Yuva420Image> Images,
        IReadOnlyDictionary<string, string> ImageKeys,
        IReadOnlyDictionary<string, Yuva420Image> Cards, IReadOnlyDictionary<string, string> CardLabels,
        IReadOnlyDictionary<string, HostedFeed> Feeds);

    /// <summary>A feed input's stream name in the host's feed hub, and the feed publishing it.</summary>
    private sealed record HostedFeed(string Stream, IProgramFeed Feed);

    [LoggerMessage(EventId = 6209, Level = LogLevel.Information, Message = "Program {Channel}: input {InputId} opened its source as {Stream}")]
    private partial void LogFeedOpened(string channel, string inputId, string stream);

    [LoggerMessage(EventId = 6207, Level = LogLevel.Information,
        Message = "Program {Channel}: its broadcast was ended from outside; its engine stopped")]
    private partial void LogEndedFromOutside(string channel);

    [LoggerMessage(EventId = 6208, Level = LogLevel.Error, Message = "Program {Channel}: its broadcast ended, but its engine could not be stopped")]
    private partial void LogEndedStopFailed(Exception ex, string channel);
}
