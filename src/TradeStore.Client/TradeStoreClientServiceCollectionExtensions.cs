using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TradeStore.Client;

/// <summary>Registers <see cref="TradeStoreClient"/> as a typed client of <c>IHttpClientFactory</c> (pooled handlers, DNS refresh).</summary>
public static class TradeStoreClientServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="TradeStoreClient"/>; the options are validated when the host starts. Redirects are followed by the
    /// client itself (so the API key and the idempotency key go along), not by the handler.
    /// </summary>
    public static IHttpClientBuilder AddTradeStoreClient(this IServiceCollection services, Action<TradeStoreClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<TradeStoreClientOptions>()
            .Configure(configure)
            .Validate(o =>
            {
                o.Validate();
                return true;
            })
            .ValidateOnStart();
        var builder = services.AddHttpClient(nameof(TradeStoreClient));
        builder.AddTypedClient((http, provider) =>
            new TradeStoreClient(http, provider.GetRequiredService<IOptions<TradeStoreClientOptions>>().Value,
                provider.GetService<ILogger<TradeStoreClient>>(), provider.GetService<TimeProvider>()));
        return builder
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan) // each attempt has its own timeout
            .ConfigurePrimaryHttpMessageHandler(TradeStoreClient.NewHandler);
    }
}
