using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// The codes an answer's string properties can hold, which the answer records (strings, so that every store spells them
/// alike) cannot say: a trade's <c>side</c> and <c>status</c>, an event's <c>type</c>. Each list comes from the one
/// spelling of the enum (<see cref="TradeCodes"/>), so a new value reaches the document with the code.
/// </summary>
internal sealed class AnswerSchemaTransformer : IOpenApiSchemaTransformer
{
    /// <summary>The enumerated string properties of each answer record, with their values.</summary>
    public static readonly IReadOnlyDictionary<Type, IReadOnlyDictionary<string, string[]>> Codes = new Dictionary<Type, IReadOnlyDictionary<string, string[]>>
    {
        [typeof(TradeResponse)] = new Dictionary<string, string[]>
        {
            ["side"] = [.. Enum.GetValues<Side>().Select(s => s.ToCode())],
            ["status"] = [.. Enum.GetValues<TradeStatus>().Select(s => s.ToCode())],
        },
        [typeof(TradeEventResponse)] = new Dictionary<string, string[]>
        {
            ["type"] = [.. Enum.GetValues<TradeEventType>().Select(t => t.ToCode())],
        },
    };

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is null && Codes.TryGetValue(context.JsonTypeInfo.Type, out var codes))
        {
            foreach (var (name, values) in codes)
            {
                if (schema.Properties?.TryGetValue(name, out var property) == true && property is OpenApiSchema concrete)
                {
                    concrete.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
                }
            }
        }

        return Task.CompletedTask;
    }
}
