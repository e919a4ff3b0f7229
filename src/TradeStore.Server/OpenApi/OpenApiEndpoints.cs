using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using TradeStore.Server.Api;
using TradeStore.Server.Changes;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// The OpenAPI 3.1 document at <c>/openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi) and the API reference page
/// at <c>/docs/api</c> (Scalar, its script served from the binary). Both are public: they describe, they hold no data.
/// </summary>
public static class OpenApiEndpoints
{
    public const string DocumentPath = "/openapi/v1.json";
    public const string ReferencePath = "/docs/api";

    public static void AddServices(IServiceCollection services)
    {
        // The schema generator reads the API's own source-generated contracts (camelCase, exact decimals).
        services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            options.SerializerOptions.TypeInfoResolverChain.Insert(1, ChangeFeedJsonContext.Default);
        });
        services.AddOpenApi("v1", options =>
        {
            options.OpenApiVersion = OpenApiSpecVersion.OpenApi3_1;
            options.AddSchemaTransformer<ExactTypesSchemaTransformer>();
            options.AddSchemaTransformer<RequestSchemaTransformer>();
            options.AddSchemaTransformer<OmittedPropertiesSchemaTransformer>();
            options.AddDocumentTransformer<ApiDocumentTransformer>();
        });
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference(ReferencePath, options => options
                .WithTitle("TradeStore API")
                .WithOpenApiRoutePattern(DocumentPath))
            .AllowAnonymous();
    }
}
