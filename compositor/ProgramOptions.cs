using Broadcast.Compositor.Engine;
using Broadcast.Compositor.Layouts;

namespace Broadcast.Compositor;

/// <summary>
/// <c>Program:*</c>: the fixed output of every program a node runs (an API program or a room's show). Read once, by
/// <see cref="CompositorServiceCollectionExtensions.AddCompositor"/>; <c>Program:KeeperSeconds</c> is control's (which
/// node runs a stored program), not the compositor's.
/// </summary>
public sealed class ProgramOptions
{
    public const string SectionName = "Program";

    /// <summary><c>Program:Width</c> (default 1280): the canvas width, even.</summary>
    public int Width { get; set; } = 1280;

    /// <summary><c>Program:Height</c> (default 720): the canvas height, even.</summary>
    public int Height { get; set; } = 720;

    /// <summary><c>Program:FramesPerSecond</c> (default 30): the program's constant frame rate.</summary>
    public int FramesPerSecond { get; set; } = 30;

    /// <summary><c>Program:VideoKilobits</c> (default 3000): the program encode's H.264 bitrate.</summary>
    public int VideoKilobits { get; set; } = 3000;

    /// <summary>The engine's settings for these options, with the node's ffmpeg.</summary>
    public ProgramSettings ToSettings(string ffmpegPath) =>
        new(ffmpegPath, new PixelSize(Width, Height), new ProgramClock(FramesPerSecond)) { VideoKilobits = VideoKilobits };
}
