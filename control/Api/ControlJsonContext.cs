using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broadcast.Control.Api;

/// <summary>
/// The JSON of the channel, event, recording and session routes (source-generated; nulls left out). Feature routes with
/// their own DTO file keep their context beside it (destinations, pull sources, playback, breaks, accounts, chat).
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateChannelRequest))]
[JsonSerializable(typeof(ChannelResponse))]
[JsonSerializable(typeof(List<ChannelResponse>))]
[JsonSerializable(typeof(RevealKeyResponse))]
[JsonSerializable(typeof(EventRequest))]
[JsonSerializable(typeof(EventResponse))]
[JsonSerializable(typeof(List<EventResponse>))]
[JsonSerializable(typeof(UpdateChannelRequest))]
[JsonSerializable(typeof(RecordingResponse))]
[JsonSerializable(typeof(List<RecordingResponse>))]
[JsonSerializable(typeof(SignInRequest))]
[JsonSerializable(typeof(SessionResponse))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(AntiforgeryResponse))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
