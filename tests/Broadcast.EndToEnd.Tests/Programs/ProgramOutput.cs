using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Runtime.InteropServices;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.Processes;
using Broadcast.Soak;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Programs;

/// <summary>A colour a program picture is checked for.</summary>
internal enum Hue
{
    Red,
    Blue,
    Green,
    Black,

    /// <summary>The placeholder card of an input without a picture (a dark grey, not black).</summary>
    Placeholder,
}

/// <summary>
/// What a program channel puts on air, read back as a viewer's segments would be: the newest segment of its source
/// rendition (init in front) decoded by ffmpeg, its last picture's colours at canvas points and its audio's tone levels.
/// </summary>
internal sealed partial class ProgramOutput(ServerFixture fixture, int canvasWidth, int canvasHeight, int redHz = 440, int blueHz = 1000)
{
    private const int PictureWidth = 160, PictureHeight = 90;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);

    private int CanvasWidth => canvasWidth;

    private int CanvasHeight => canvasHeight;

    private ServerProcess Server => fixture.Server;

    /// <summary>PUTs a program and answers its state, failing with the body when the answer is not 200.</summary>
    public async Task<JsonNode> PutAsync(string channelId, object body)
    {
        using var response = await Server.Http.PutAsJsonAsync($"api/channels/{channelId}/program", body);
        var text = await response.Content.ReadAsStringAsync();
        fixture.Check(response.StatusCode == HttpStatusCode.OK, $"PUT program -> {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!;
    }

    /// <summary>Waits until the newest segment of the program's source rendition ends on a picture with <paramref name="expected"/> colours.</summary>
    public async Task WaitForPictureAsync(string slug, string what, (int X, int Y, Hue Hue)[] expected)
    {
        string seen = "";
        await WaitFor.ConditionAsync(async () =>
        {
            var file = await NewestSegmentAsync(slug, "source");
            if (file is null) return false;
            using (file)
            {
                var rgb = await LastPictureAsync(file.Path);
                var found = expected.Select(e => (e, Classify(rgb, e.X, e.Y))).ToList();
                seen = string.Join(", ", found.Select(f => $"({f.e.X},{f.e.Y}) {f.Item2.Name} {f.Item2.Rgb}"));
                return found.All(f => f.Item2.Name == f.e.Hue);
            }
        }, Bound, $"a program segment showing {what}", () => fixture.WithLog($"last decoded: {seen}"), pollInterval: TimeSpan.FromMilliseconds(500));
    }

    /// <summary>
    /// Waits until the newest segment ends on a picture whose cell (<paramref name="x"/>, <paramref name="y"/>,
    /// <paramref name="width"/> x <paramref name="height"/>, canvas pixels) is a placeholder with a name card: its middle
    /// dark grey, its upper third dark, and white text in its lower band (from 0.6 to 0.9 of its height).
    /// </summary>
    public async Task WaitForNameCardAsync(string slug, string what, int x, int y, int width, int height)
    {
        string seen = "";
        await WaitFor.ConditionAsync(async () =>
        {
            var file = await NewestSegmentAsync(slug, "source");
            if (file is null) return false;
            using (file)
            {
                var result = await DecodeAsync(["-i", file.Path, "-an", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]);
                int size = CanvasWidth * CanvasHeight;
                if (result.Length < size) return false;
                int last = result.Length - size;
                int Count(int top, int bottom, Func<byte, bool> test)
                {
                    int n = 0;
                    for (int row = y + top; row < y + bottom; row++)
                    {
                        foreach (byte v in result.AsSpan(last + (row * CanvasWidth) + x, width)) n += test(v) ? 1 : 0;
                    }
                    return n;
                }
                // Full-range gray from limited-range video: black about 0, the placeholder's luma 32 about 19.
                int text = Count(height * 6 / 10, height * 9 / 10, v => v > 150);
                int upperBright = Count(0, height / 3, v => v > 60);
                byte middle = result[last + ((y + (height / 2)) * CanvasWidth) + x + (width / 2)];
                seen = $"{text} text pixels in the lower band, {upperBright} bright pixels in the upper third, middle {middle}";
                return text > 40 && upperBright == 0 && middle is >= 10 and < 35;
            }
        }, Bound, what, () => fixture.WithLog($"last decoded: {seen}"), pollInterval: TimeSpan.FromMilliseconds(500));
    }

    /// <summary>The audio rendition a master playlist names (its folder under the channel), null before it lists one.</summary>
    public static string? AudioRendition(string master) => AudioUri().Match(master) is { Success: true } m ? m.Groups[1].Value : null;

    [System.Text.RegularExpressions.GeneratedRegex(@"TYPE=AUDIO[^\n]*URI=""([\w-]+)/index\.m3u8""")]
    private static partial System.Text.RegularExpressions.Regex AudioUri();

    /// <summary>Waits until the newest audio segment's tones satisfy <paramref name="condition"/> (440 Hz level, 1 kHz level).</summary>
    public async Task<(double Red, double Blue)> WaitForTonesAsync(string slug, string rendition, Func<double, double, bool> condition, string what)
    {
        (double Red, double Blue) levels = (double.NaN, double.NaN);
        await WaitFor.ConditionAsync(async () =>
        {
            var file = await NewestSegmentAsync(slug, rendition);
            if (file is null) return false;
            using (file)
            {
                var samples = await SamplesAsync(file.Path);
                if (samples.Length < 48_000) return false;
                levels = (ToneLevel.Amplitude(samples, redHz), ToneLevel.Amplitude(samples, blueHz));
                return condition(levels.Red, levels.Blue);
            }
        }, Bound, what, () => fixture.WithLog($"last levels: 440 Hz {levels.Red}, 1 kHz {levels.Blue}"), pollInterval: TimeSpan.FromMilliseconds(500));
        return levels;
    }

    /// <summary>The newest complete segment of a rendition with its init segment in front, as one playable file; null before there is one.</summary>
    public async Task<TempFile?> NewestSegmentAsync(string slug, string rendition)
    {
        using var response = await Server.Viewer.GetAsync(Server.Absolute($"/live/{slug}/{rendition}/index.m3u8"));
        if (!response.IsSuccessStatusCode) return null;
        if (!MediaPlaylistView.TryParse(await response.Content.ReadAsStringAsync(), out var view, out _) || view.InitUri is null || view.Entries.Count == 0) return null;
        var init = await Server.Viewer.GetByteArrayAsync(Server.Absolute($"/live/{slug}/{rendition}/{view.InitUri}"));
        var segment = await Server.Viewer.GetByteArrayAsync(Server.Absolute($"/live/{slug}/{rendition}/{view.Entries[^1].Uri}"));
        var file = new TempFile(".mp4");
        await File.WriteAllBytesAsync(file.Path, [.. init, .. segment]);
        return file;
    }

    private static async Task<byte[]> LastPictureAsync(string path)
    {
        var result = await DecodeAsync(["-i", path, "-an", "-vf", $"scale={PictureWidth}:{PictureHeight}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
        int size = PictureWidth * PictureHeight * 3;
        Assert.True(result.Length >= size, $"no picture decoded from {path}");
        return result[^size..];
    }

    private static async Task<float[]> SamplesAsync(string path)
    {
        var result = await DecodeAsync(["-i", path, "-vn", "-ac", "2", "-ar", "48000", "-f", "f32le", "pipe:1"]);
        return MemoryMarshal.Cast<byte, float>(result.AsSpan(0, result.Length / 4 * 4)).ToArray();
    }

    public static async Task<byte[]> DecodeAsync(string[] args)
    {
        var result = await SupervisedProcess.RunAsync(new ProcessLaunch("ffmpeg", ["-hide_banner", "-loglevel", "error", .. args]), TimeSpan.FromSeconds(20),
            CancellationToken.None);
        Assert.True(result.Succeeded, result.Stderr);
        return result.Stdout;
    }

    /// <summary>The colour at canvas point (x, y): red, blue or black (anything else is named by its values).</summary>
    private (Hue? Name, string Rgb) Classify(byte[] rgb, int x, int y)
    {
        int i = ((y * PictureHeight / CanvasHeight * PictureWidth) + (x * PictureWidth / CanvasWidth)) * 3;
        int r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
        // Limited-range luma 16 decodes to 0 (black), the placeholder's 32 to about 19. Green takes Chromium's fake screen
        // (rgb(0,135,0)) as well as a pure green.
        Hue? hue = r > 180 && g < 60 && b < 60 ? Hue.Red : b > 180 && r < 60 && g < 60 ? Hue.Blue : g > 110 && r < 60 && b < 60 ? Hue.Green
            : r < 10 && g < 10 && b < 10 ? Hue.Black
            : r is >= 12 and < 32 && g is >= 12 and < 32 && b is >= 12 and < 32 ? Hue.Placeholder : null;
        return (hue, $"rgb({r},{g},{b})");
    }

    public sealed class TempFile(string extension) : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"program-{Guid.NewGuid():N}{extension}");

        public void Dispose() => File.Delete(Path);
    }
}
