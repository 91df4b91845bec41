using System.Text.Json;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;

namespace Broadcast.Control.Programs;

/// <summary>
/// The API's view of a program: the stored request joined with what the runner reports of it now. Channel inputs are
/// looked up again on each read, so a renamed channel shows its new name.
/// </summary>
internal static class ProgramMapping
{
    /// <param name="status">The runner's report of the program, or null when it does not run on this node.</param>
    public static async Task<ProgramResponse> ToResponseAsync(this StoredProgram stored, Channel channel, ProgramRunState? status,
        ChannelService channels, CancellationToken cancellationToken)
    {
        var request = JsonSerializer.Deserialize(stored.Document, ControlJsonContext.Default.ProgramRequest)!;
        var inputs = new List<ProgramInputState>();
        foreach (var input in request.Inputs ?? [])
        {
            bool present = status?.InputsPresent.TryGetValue(input.Id!, out var p) == true ? p : status is not null && input.Image is not null;
            if (input.Image is { } image)
            {
                inputs.Add(new ProgramInputState(input.Id!, null, null, new ProgramImageSize(image.Width ?? 0, image.Height ?? 0), present));
                continue;
            }
            if (input.Source is { } pull)
            {
                string url = pull.Url!.Trim();
                var pulled = status?.Pulls.TryGetValue(input.Id!, out var p2) == true ? p2 : null;
                inputs.Add(new ProgramInputState(input.Id!, null, null, null, present, input.Label ?? ProgramPlanner.SourceLabel(url),
                    new ProgramSourceState(url, pull.Loop ?? false, pull.AllowUntrustedCertificate ?? false, pulled?.State, pulled?.Reason)));
                continue;
            }
            var source = await channels.GetAsync(input.Channel!, cancellationToken).ConfigureAwait(false)
                ?? await channels.GetBySlugAsync(input.Channel!, cancellationToken).ConfigureAwait(false);
            inputs.Add(new ProgramInputState(input.Id!, source?.Id, source?.Slug, null, present, input.Label ?? source?.Name));
        }
        var engine = status is null ? null : new ProgramEngineState(status.Width, status.Height, status.FramesComposed, status.FramesLate,
            status.IntegratedLoudness, status.EncoderRestarts, status.EncoderLagMilliseconds, status.StartedAt);
        return new ProgramResponse(channel.Id, status is not null, inputs, request.Layout!, request.Audio ?? [], request.Transition ?? "cut",
            stored.UpdatedBy, stored.UpdatedAt, engine);
    }
}
