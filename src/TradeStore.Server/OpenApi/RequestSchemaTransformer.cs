using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TradeStore.Core.Trades;
using TradeStore.Server.Api;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// What the request classes cannot say by themselves: their properties are all nullable, so that the server names a
/// missing field ("quantity is required.") instead of failing in the serializer, and their JSON context refuses unknown
/// properties. The document says both: <c>required</c> and <c>additionalProperties: false</c>; and it states the field
/// rules of <see cref="TradeValidation"/> that a schema can express (<see cref="StateFieldRules"/>).
/// </summary>
internal sealed class RequestSchemaTransformer : IOpenApiSchemaTransformer
{
    /// <summary>The properties each request body must hold; <c>OpenApiDocumentTests</c> checks that the server refuses a body without each by name.</summary>
    public static readonly IReadOnlyDictionary<Type, string[]> Required = new Dictionary<Type, string[]>
    {
        [typeof(CreateTradeRequest)] = ["tradeId", "account", "symbol", "side", "quantity", "price"],
        [typeof(AmendTradeRequest)] = ["expectedVersion"],
        [typeof(FillTradeRequest)] = ["quantity", "price"],
        [typeof(CancelTradeRequest)] = [],
        [typeof(BatchItemRequest)] = ["tradeId"],
    };

    /// <summary>
    /// A request each body schema shows as its <c>example</c> (the API reference's "try it" starts from it). Valid as a
    /// sequence: create T-1001, amend it at version 1, fill it, cancel it; <c>OpenApiDocumentTests</c> sends them so.
    /// </summary>
    public static readonly IReadOnlyDictionary<Type, string> Examples = new Dictionary<Type, string>
    {
        [typeof(CreateTradeRequest)] = """{"tradeId":"T-1001","account":"ACC-1","symbol":"AAPL","side":"buy","quantity":"100","price":"189.25","venue":"XNAS","executedAt":"2026-11-30T09:30:00Z"}""",
        [typeof(AmendTradeRequest)] = """{"expectedVersion":1,"price":"189.30"}""",
        [typeof(FillTradeRequest)] = """{"quantity":"40","price":"189.28"}""",
        [typeof(CancelTradeRequest)] = """{"expectedVersion":3}""",
        [typeof(BatchItemRequest)] = """{"type":"fill","tradeId":"T-1002","quantity":"5","price":"410.5","idempotencyKey":"fill-T-1002-1"}""",
    };

    /// <summary>Optional properties that may be left out but not sent as <c>null</c> (a batch item's <c>type</c>: absent is a create).</summary>
    public static readonly IReadOnlyDictionary<Type, string[]> NeverNull = new Dictionary<Type, string[]>
    {
        [typeof(BatchItemRequest)] = ["type"],
    };

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is null && Required.TryGetValue(context.JsonTypeInfo.Type, out var required))
        {
            schema.Required = new HashSet<string>(required);
            schema.AdditionalPropertiesAllowed = false;
            schema.Examples = [JsonNode.Parse(Examples[context.JsonTypeInfo.Type])!];
            // Nullable in C# only so that a missing one is named: null is refused like absence, so the document says string, not [null, string].
            foreach (var name in required.Concat(NeverNull.GetValueOrDefault(context.JsonTypeInfo.Type, [])))
            {
                if (schema.Properties?.TryGetValue(name, out var property) == true && property is OpenApiSchema { Type: { } type } concrete)
                {
                    concrete.Type = type & ~JsonSchemaType.Null;
                }
            }

            StateFieldRules(schema);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// The rules of <see cref="TradeValidation"/> a schema can state, on each request property of that name: without them a
    /// generated client or the reference page's "try it" took any string for a <c>tradeId</c> or <c>side</c> and met the
    /// rule only in the 400. What a schema cannot say (<c>.</c> and <c>..</c> as ids, printable text) stays in the 400.
    /// </summary>
    private static void StateFieldRules(OpenApiSchema schema)
    {
        foreach (var (name, property) in schema.Properties ?? new Dictionary<string, IOpenApiSchema>())
        {
            if (property is not OpenApiSchema concrete)
            {
                continue;
            }

            switch (name)
            {
                case "tradeId":
                    concrete.Pattern = NameCharacters.TradeId.Pattern(TradeValidation.MaxIdLength);
                    break;
                case "account":
                    concrete.Pattern = NameCharacters.Code.Pattern(TradeValidation.MaxIdLength);
                    break;
                case "symbol":
                    concrete.Pattern = NameCharacters.Code.Pattern(TradeValidation.MaxSymbolLength);
                    break;
                case "venue" or "trader":
                    (concrete.MinLength, concrete.MaxLength) = (1, TradeValidation.MaxTextLength);
                    break;
                case "idempotencyKey":
                    (concrete.MinLength, concrete.MaxLength) = (1, TradeValidation.MaxIdempotencyKeyLength);
                    break;
                case "expectedVersion":
                    concrete.Minimum = "1";
                    break;
                case "side" when concrete.Type == JsonSchemaType.String:
                    concrete.Enum = Values("buy", "sell");
                    break;
                case "type" when concrete.Type == JsonSchemaType.String:
                    concrete.Enum = Values("create", "amend", "fill", "cancel", "delete");
                    break;
            }
        }
    }

    /// <summary>
    /// An <c>enum</c> of <paramref name="values"/>; only on a property that may not be null (a batch item's <c>side</c> may be,
    /// for the commands other than create, and an <c>enum</c> would refuse the null).
    /// </summary>
    private static List<JsonNode> Values(params string[] values) => [.. values.Select(v => (JsonNode)JsonValue.Create(v))];
}
