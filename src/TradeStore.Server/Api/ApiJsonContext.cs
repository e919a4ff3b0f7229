using System.Text.Encodings.Web;
using System.Text.Json;
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

/// <summary>The JSON context the API writes with.</summary>
public static class ApiJson
{
    /// <summary>
    /// By design with the relaxed encoder: answers are <c>application/json</c>, never embedded in HTML, so quotes
    /// and '+' in problem details stay readable instead of becoming <c>\u0027</c>.
    /// </summary>
    public static ApiJsonContext Context { get; } = new(new JsonSerializerOptions(ApiJsonContext.Default.Options)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
