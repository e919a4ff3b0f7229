using System.Text.Json.Serialization;

namespace TradeStore.Server.Health;

/// <summary>Body of <c>GET /health/live</c>.</summary>
public sealed record LiveResponse(string Status);

[JsonSerializable(typeof(LiveResponse))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class HealthJsonContext : JsonSerializerContext;
