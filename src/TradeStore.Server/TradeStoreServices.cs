using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TradeStore.Server.Configuration;

namespace TradeStore.Server;

/// <summary>
/// The options registration of the host: each section bound and validated once, by <see cref="TradeStoreSettings.Bind"/>.
/// Each adapter then registers itself (<c>AddTradeStoreStorage</c>, <c>AddTradeStoreRedis</c>, <c>AddTradeStoreClickHouse</c>).
/// </summary>
public static class TradeStoreServices
{
    /// <summary>
    /// Registers every options section as the instance <see cref="TradeStoreSettings.Bind"/> produced. By design no
    /// second binding: Bind already rejected unknown keys and invalid values with messages that name the key.
    /// </summary>
    public static IServiceCollection AddTradeStoreOptions(this IServiceCollection services, TradeStoreSettings settings)
    {
        services.AddSingleton(Options.Create(settings.Storage));
        services.AddSingleton(Options.Create(settings.Server));
        services.AddSingleton(Options.Create(settings.Redis));
        services.AddSingleton(Options.Create(settings.ClickHouse));
        services.AddSingleton(Options.Create(settings.Engine));
        services.AddSingleton(Options.Create(settings.Api));
        services.AddSingleton(Options.Create(settings.Security));
        services.AddSingleton(Options.Create(settings.Changes));
        return services;
    }

}
