namespace Broadcast.Compositor.Audio;

/// <summary>The program's audio format: every input is decoded to it and the mix is encoded from it.</summary>
public static class ProgramAudio
{
    /// <summary>Samples per second per channel.</summary>
    public const int SampleRate = 48_000;

    /// <summary>Stereo, interleaved left then right (ffmpeg's <c>f32le</c> with two channels).</summary>
    public const int Channels = 2;

    /// <summary>Frames (sample pairs) in one mixing block: 21⅓ ms, the AAC frame length.</summary>
    public const int BlockFrames = 1024;

    /// <summary>Linear amplitude of a level in dB (full scale is 0 dB).</summary>
    public static double Amplitude(double decibels) => Math.Pow(10, decibels / 20);
}
