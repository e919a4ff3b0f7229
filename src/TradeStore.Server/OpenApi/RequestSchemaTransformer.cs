using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TradeStore.Server.Api;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// What the request classes cannot say by themselves: their properties are all nullable, so that the server names a
/// missing field ("quantity is required.") instead of failing in the serializer, and their JSON context refuses unknown
/// properties. The document says both: <c>required</c> and <c>additionalProperties: false</c>.
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
            // Nullable in C# only so that a missing one is named: null is refused like absence, so the document says string, not [null, string].
            foreach (var name in required.Concat(NeverNull.GetValueOrDefault(context.JsonTypeInfo.Type, [])))
            {
                if (schema.Properties?.TryGetValue(name, out var property) == true && property is OpenApiSchema { Type: { } type } concrete)
                {
                    concrete.Type = type & ~JsonSchemaType.Null;
                }
            }
        }

        return Task.CompletedTask;
    }
}
