using Broadcast.Media;

namespace Broadcast.Packager.Tests;

/// <summary>Synthetic tracks and frames for pure segmenter and manifest tests.</summary>
internal static class TestMedia
{
    // A real avcC header (High profile 3.1) so codec strings and init segments are believable.
    public static readonly byte[] AvcConfig = [0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x04, 0x67, 0x64, 0x00, 0x1F, 0x01, 0x00, 0x04, 0x68, 0xEB, 0xE3, 0xCB];

    public static VideoTrack Video(int width = 1280, int height = 720, FrameRate? frameRate = null, byte[]? config = null) =>
        new(Codec.H264, config ?? AvcConfig, "avc1.64001f", width, height, "High", "3.1", frameRate ?? new FrameRate(30, 1));

    /// <summary>AAC-LC AudioSpecificConfig for the rate (ISO/IEC 14496-3 1.6.2.1).</summary>
    public static AudioTrack Audio(int sampleRate = 48000, int channels = 2)
    {
        int index = sampleRate switch { 48000 => 3, 44100 => 4, 32000 => 5, _ => 3 };
        byte[] asc = [(byte)(2 << 3 | index >> 1), (byte)((index & 1) << 7 | channels << 3)];
        return new AudioTrack(Codec.Aac, asc, "mp4a.40.2", sampleRate, channels);
    }

    public static MediaFrame Frame(MediaTrack track, long dts, bool key, int size = 100, int cto = 0)
    {
        var payload = new byte[size];
        payload[0] = key ? (byte)0x65 : (byte)0x41;
        return MediaFrame.Rent(track, dts, cto, key, payload);
    }

    /// <summary>How often <paramref name="what"/> occurs in <paramref name="text"/> (ordinal).</summary>
    public static int CountOf(string text, string what)
    {
        int n = 0;
        for (int i = text.IndexOf(what, StringComparison.Ordinal); i >= 0; i = text.IndexOf(what, i + 1, StringComparison.Ordinal)) n++;
        return n;
    }
}

/// <summary>Collects log lines so a test can show why background work failed.</summary>
internal sealed class ListLogger<T> : Microsoft.Extensions.Logging.ILogger<T>
{
    public List<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state,
        Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add($"{logLevel}: {formatter(state, exception)} {exception}");
    }
}
