using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;
using Scalar.AspNetCore;
using TradeStore.Server.Api;
using TradeStore.Server.Changes;

namespace TradeStore.Server.OpenApi;

/// <summary>
/// The OpenAPI 3.1 document at <c>/openapi/v1.json</c> (Microsoft.AspNetCore.OpenApi) and the API reference page
/// at <c>/docs/api</c> (Scalar, its script served from the binary, under a Content-Security-Policy that allows only this
/// origin). Both are public: they describe, they hold no data.
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
            options.AddSchemaTransformer<AnswerSchemaTransformer>();
            options.AddSchemaTransformer<OmittedPropertiesSchemaTransformer>();
            options.AddDocumentTransformer<ApiDocumentTransformer>();
        });
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        app.MapScalarApiReference(ReferencePath, (options, context) =>
            {
                options
                    .WithTitle("TradeStore API")
                    .WithOpenApiRoutePattern(DocumentPath)
                    // Nothing leaves this server: no fonts from Scalar's CDN, none of its hosted services (AI chat, MCP,
                    // SDK generation, deploy links in the developer tools), no telemetry, and no API client that sends
                    // requests from the page (it would need connect-src beyond 'self' through Scalar's proxy).
                    .DisableDefaultFonts()
                    .DisableAgent()
                    .DisableMcp()
                    .DisableTelemetry()
                    .HideDeveloperTools()
                    .HideClientButton()
                    .HideTestRequestButton()
                    .WithDotNetFlag(false);
                ReferencePolicy.Apply(options, context);
            })
            .AllowAnonymous()
            // Link checkers and uptime probes ask with HEAD; Kestrel sends the GET answer's headers without its body.
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
    }
}
