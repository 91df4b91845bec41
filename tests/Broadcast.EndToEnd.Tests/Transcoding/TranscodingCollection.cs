namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// The tests that keep x264 busy for most of their time (the ladder, the encoder's own ladder, frame rates, captions
/// through the rungs) run one after another: with three collections running at once, two encodes side by side would
/// starve the third lane's timing-bound test.
/// </summary>
[CollectionDefinition(Name)]
public sealed class TranscodingCollection
{
    public const string Name = "transcoding";
}
