namespace Broadcast.Ingest.Rtmp;

/// <summary>Why an RTMP session stops: a reason to log once. The session's read loop catches it and closes only that connection.</summary>
internal sealed class RtmpCloseException(string reason, bool logged = false, bool slowClient = false, bool memoryBudget = false) : Exception(reason)
{
    /// <summary>The reason was logged already (a refused publish logs its own line).</summary>
    public bool Logged { get; } = logged;

    public bool SlowClient { get; } = slowClient;

    public bool MemoryBudget { get; } = memoryBudget;

    /// <summary>The close for the chunk reader's error, with a reason for the log.</summary>
    public static RtmpCloseException ForChunkError(ChunkStreamReader chunks, RtmpConnectionMemory memory, bool beforeConnect, int maxMessageSize)
    {
        byte type = chunks.RejectedTypeId;
        return chunks.Error switch
        {
            ChunkReadError.MessageTypeNotAllowed when beforeConnect
                => new RtmpCloseException($"{TypeName(type)} message (type {type}) before connect"),
            ChunkReadError.MessageTypeNotAllowed => new RtmpCloseException($"{TypeName(type)} before publish"),
            ChunkReadError.MessageTooLarge => new RtmpCloseException($"chunk stream error: MessageTooLarge ({TypeName(type)} message of " +
                $"{chunks.RejectedLength} bytes, above Rtmp:MaxMessageSize {maxMessageSize})"),
            ChunkReadError.TooManyPartialMessages => new RtmpCloseException(
                $"a message on a chunk stream while {chunks.PartialMessages} others hold partial messages before publish " +
                $"(Rtmp:MaxPartialMessagesBeforePublish {chunks.MaxPartialMessages})",
                memoryBudget: true),
            ChunkReadError.TooMuchBufferedData => new RtmpCloseException(
                $"a {TypeName(type)} message declaring {chunks.RejectedLength} bytes while {chunks.BufferedBytes} bytes are being reassembled, " +
                $"above the budget of {chunks.MaxBufferedBytes} bytes ({memory.LimitKey})",
                memoryBudget: true),
            ChunkReadError.BufferRefused => new RtmpCloseException(memory.Refusal ?? "reassembly buffer refused", memoryBudget: true),
            _ => new RtmpCloseException($"chunk stream error: {chunks.Error}"),
        };
    }

    private static string TypeName(byte typeId) => typeId switch
    {
        RtmpMessageType.SetChunkSize => "set chunk size",
        RtmpMessageType.Abort => "abort",
        RtmpMessageType.Acknowledgement => "acknowledgement",
        RtmpMessageType.UserControl => "user control",
        RtmpMessageType.WindowAcknowledgementSize => "window acknowledgement size",
        RtmpMessageType.SetPeerBandwidth => "set peer bandwidth",
        RtmpMessageType.Audio => "audio",
        RtmpMessageType.Video => "video",
        RtmpMessageType.DataAmf0 or RtmpMessageType.DataAmf3 => "data",
        RtmpMessageType.SharedObjectAmf0 or RtmpMessageType.SharedObjectAmf3 => "shared object",
        RtmpMessageType.CommandAmf0 or RtmpMessageType.CommandAmf3 => "command",
        RtmpMessageType.Aggregate => "aggregate",
        _ => "unknown",
    };
}
