using System.Globalization;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests;

/// <summary>
/// Measures the tones in the audio a player in the browser decodes and plays: the page's video element is unmuted (the
/// test browser allows autoplay with sound) and routed through a Web Audio AnalyserNode, whose spectrum gives each tone's
/// level in dB. What the viewer would hear, after the player's own demuxing, decoding and track switching.
/// </summary>
internal sealed class BrowserToneMeter
{
    private readonly BrowserPlayer _player;

    private BrowserToneMeter(BrowserPlayer player) => _player = player;

    /// <summary>Routes the page's video element through an analyser; call once per page (an element has one source node).</summary>
    public static async Task<BrowserToneMeter> AttachAsync(BrowserPlayer player)
    {
        ArgumentNullException.ThrowIfNull(player);
        await player.Page.EvaluateAsync("""
            async () => {
              const video = document.querySelector('video');
              video.muted = false;
              const context = new AudioContext();
              const analyser = context.createAnalyser();
              analyser.fftSize = 16384;
              analyser.smoothingTimeConstant = 0;
              context.createMediaElementSource(video).connect(analyser);
              analyser.connect(context.destination);
              await context.resume();
              window.__toneMeter = { context, analyser };
            }
            """);
        return new BrowserToneMeter(player);
    }

    /// <summary>
    /// Waits (up to <paramref name="timeout"/>) until <paramref name="own"/> Hz dominates what plays (see
    /// <see cref="ToneLevels.OwnDominates"/>); fails with <paramref name="diagnose"/> given the last levels heard.
    /// </summary>
    public async Task WaitUntilHeardAsync(int own, int other, TimeSpan timeout, string what, Func<string, string> diagnose)
    {
        ToneLevels? heard = null;
        await WaitFor.ConditionAsync(async () => (heard = await MeasureAsync(own, other)).OwnDominates, timeout,
            $"{what}: {own} Hz in the browser's decoded audio", () => diagnose($"heard: {heard}"), TimeSpan.FromMilliseconds(250));
    }

    /// <summary>The levels in dB (full scale) of <paramref name="own"/> and <paramref name="other"/> Hz in what plays now.</summary>
    public async Task<ToneLevels> MeasureAsync(int own, int other)
    {
        double[] levels = await _player.EvaluateAsync<double[]>($$"""
            () => {
              const { context, analyser } = window.__toneMeter;
              const bins = new Float32Array(analyser.frequencyBinCount);
              analyser.getFloatFrequencyData(bins);
              const level = (hz) => {
                const at = Math.round(hz * analyser.fftSize / context.sampleRate);
                let best = -Infinity;
                for (let i = Math.max(0, at - 2); i <= Math.min(bins.length - 1, at + 2); i++) best = Math.max(best, bins[i]);
                return Number.isFinite(best) ? best : -200;
              };
              return [level({{own}}), level({{other}}), context.state === 'running' ? 1 : 0, context.currentTime];
            }
            """);
        return new ToneLevels(own, levels[0], other, levels[1], levels[2] == 1, levels[3]);
    }
}

/// <summary>Two tones' levels in the browser's decoded audio, in dB full scale.</summary>
internal sealed record ToneLevels(int Own, double OwnDb, int Other, double OtherDb, bool Running, double ContextSeconds)
{
    /// <summary>The own tone is heard and the other's is at least 20 dB below it (a tenth of its amplitude).</summary>
    public bool OwnDominates => Running && OwnDb > -60 && OwnDb - OtherDb >= 20;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Own} Hz at {OwnDb:0.0} dB, {Other} Hz at {OtherDb:0.0} dB (audio context {(Running ? "running" : "not running")}, {ContextSeconds:0.0} s)");
}
