using Broadcast.Control.Channels;

namespace Broadcast.Publish.Tests;

/// <summary>Control's rules as a test sets them: one verdict per question, and what each was asked.</summary>
internal sealed class FakePublishRules : IPublishRules
{
    public PublishVerdict Encoder { get; set; } = Allowed("news", "channel-1");

    public PublishVerdict Whip { get; set; } = Allowed("news", "channel-1");

    public PublishVerdict RoomShow { get; set; } = Allowed("news", "channel-1");

    /// <summary>Each question as "kind:argument" (the encoder's as "encoder:app/key/protocol/address/encoder").</summary>
    public List<string> Asked { get; } = [];

    public static PublishVerdict Allowed(string slug, string channelId) => new(true, slug, channelId, null);

    public Task<PublishVerdict> DecideEncoderAsync(string application, string streamKey, string protocol, PublishCaller caller,
        CancellationToken cancellationToken)
    {
        Asked.Add($"encoder:{application}/{streamKey}/{protocol}/{caller.Address}/{caller.Encoder}");
        return Task.FromResult(Encoder);
    }

    public Task<PublishVerdict> DecideWhipAsync(string streamKey, PublishCaller caller, CancellationToken cancellationToken)
    {
        Asked.Add($"whip:{streamKey}");
        return Task.FromResult(Whip);
    }

    public Task<PublishVerdict> DecideRoomShowAsync(string slug, CancellationToken cancellationToken)
    {
        Asked.Add($"room-show:{slug}");
        return Task.FromResult(RoomShow);
    }
}

/// <summary>The packager's continuations: which channels were prepared, and a fault when a test wants one.</summary>
internal sealed class FakeContinuations : IBroadcastContinuations
{
    public List<string> Prepared { get; } = [];

    public Exception? Fault { get; set; }

    public Task PrepareAsync(string slug, CancellationToken cancellationToken)
    {
        if (Fault is not null) return Task.FromException(Fault);
        Prepared.Add(slug);
        return Task.CompletedTask;
    }
}
