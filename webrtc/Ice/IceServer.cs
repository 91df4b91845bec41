using System.Text.Json.Serialization;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// One ICE server, shaped as a browser's <c>RTCIceServer</c> takes it (so it serializes straight into the pages' JSON): a
/// <c>stun:</c>, <c>turn:</c> or <c>turns:</c> URL and, for TURN, its credentials.
/// </summary>
public sealed record IceServer(
    string Urls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Username = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Credential = null);
