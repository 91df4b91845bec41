using System.Text.Json;
using System.Text.Json.Serialization;
using Broadcast.Control.Chat;
using Broadcast.Control.Playback;

namespace Broadcast.Control.Api;

/// <summary>
/// The one JSON context of control's HTTP routes (source-generated, web defaults, nulls left out): every request and
/// response body of the admin API, the chat settings, playback tokens and the playback node's snapshot. A nullable
/// field that a client expects to see as null says so on the property (<c>JsonIgnoreCondition.Never</c>).
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
[JsonSerializable(typeof(AudioTracksRequest))]
[JsonSerializable(typeof(RecordingResponse))]
[JsonSerializable(typeof(List<RecordingResponse>))]
[JsonSerializable(typeof(SignInRequest))]
[JsonSerializable(typeof(SessionResponse))]
[JsonSerializable(typeof(ChangePasswordRequest))]
[JsonSerializable(typeof(AntiforgeryResponse))]
[JsonSerializable(typeof(Analytics.AudienceReport))]
[JsonSerializable(typeof(List<Analytics.AudienceBroadcast>))]
[JsonSerializable(typeof(Analytics.AudienceNodePost))]
[JsonSerializable(typeof(ClipRequest))]
[JsonSerializable(typeof(ClipPatchRequest))]
[JsonSerializable(typeof(ClipResponse))]
[JsonSerializable(typeof(List<ClipResponse>))]
[JsonSerializable(typeof(DestinationRequest))]
[JsonSerializable(typeof(DestinationResponse))]
[JsonSerializable(typeof(List<DestinationResponse>))]
[JsonSerializable(typeof(PullSourceRequest))]
[JsonSerializable(typeof(PullSourceResponse))]
[JsonSerializable(typeof(Programs.ProgramRequest))]
[JsonSerializable(typeof(Programs.ProgramResponse))]
[JsonSerializable(typeof(Programs.ProgramLevelsResponse))]
[JsonSerializable(typeof(Programs.ProgramPatchRequest))]
[JsonSerializable(typeof(AdBreakRequest))]
[JsonSerializable(typeof(AdBreakResponse))]
[JsonSerializable(typeof(CreateAccountRequest))]
[JsonSerializable(typeof(AccountResponse))]
[JsonSerializable(typeof(List<AccountResponse>))]
[JsonSerializable(typeof(ChatSettingsRequest))]
[JsonSerializable(typeof(ChatSettingsResponse))]
[JsonSerializable(typeof(List<ChatBanView>))]
[JsonSerializable(typeof(PlaybackNodeSnapshot))]
[JsonSerializable(typeof(Protection.ContentKeyNodeRequest))]
[JsonSerializable(typeof(Protection.ContentKeyNodeAnswer))]
[JsonSerializable(typeof(PlaybackTokenRequest))]
[JsonSerializable(typeof(PlaybackTokenResponse))]
[JsonSerializable(typeof(SigningKeysResponse))]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(ApiKeyResponse))]
[JsonSerializable(typeof(List<ApiKeyResponse>))]
[JsonSerializable(typeof(WebhookEndpointRequest))]
[JsonSerializable(typeof(WebhookEndpointResponse))]
[JsonSerializable(typeof(List<WebhookEndpointResponse>))]
[JsonSerializable(typeof(List<WebhookDeliveryResponse>))]
[JsonSerializable(typeof(WebhookQueuedResponse))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
