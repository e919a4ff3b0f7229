using System.Text.Json.Serialization;

namespace TradeStore.Server.Api;

/// <summary>
/// Source-generated JSON for every API type: no reflection, camelCase, exact decimals, UTC times.
/// Unknown and duplicate properties are refused, so a typo or a smuggled <c>version</c> is a 400, not ignored.
/// </summary>
[JsonSerializable(typeof(CreateTradeRequest))]
[JsonSerializable(typeof(AmendTradeRequest))]
[JsonSerializable(typeof(FillTradeRequest))]
[JsonSerializable(typeof(CancelTradeRequest))]
[JsonSerializable(typeof(BatchItemRequest))]
[JsonSerializable(typeof(TradeResponse))]
[JsonSerializable(typeof(TradeHistoryResponse))]
[JsonSerializable(typeof(TradePageResponse))]
[JsonSerializable(typeof(PositionsResponse))]
[JsonSerializable(typeof(ApiProblem))]
[JsonSerializable(typeof(BatchResponse))]
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    AllowDuplicateProperties = false,
    Converters = [typeof(ExactDecimalConverter), typeof(UtcTimestampConverter)])]
public sealed partial class ApiJsonContext : JsonSerializerContext;
