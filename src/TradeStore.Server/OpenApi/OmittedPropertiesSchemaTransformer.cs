using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// A property the serializer leaves out when it has no value (<c>[JsonIgnore(Condition = WhenWritingNull)]</c>, such as a
/// batch result's <c>replayed</c>, <c>trade</c> and <c>problem</c>) is not <c>required</c>, even when it is a constructor
/// parameter without a default: the schema exporter counts those as required, and strict clients generated from the
/// document then reject real answers that leave them out.
/// </summary>
internal sealed class OmittedPropertiesSchemaTransformer : IOpenApiSchemaTransformer
{
    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.JsonPropertyInfo is not null || schema.Required is not { Count: > 0 } required)
        {
            return Task.CompletedTask;
        }

        foreach (var property in context.JsonTypeInfo.Properties)
        {
            if (MayBeOmitted(property.AttributeProvider))
            {
                required.Remove(property.Name);
            }
        }

        return Task.CompletedTask;
    }

    private static bool MayBeOmitted(ICustomAttributeProvider? member) =>
        member?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true).OfType<JsonIgnoreAttribute>().FirstOrDefault()?.Condition
            is JsonIgnoreCondition.WhenWritingNull or JsonIgnoreCondition.WhenWritingDefault;
}
