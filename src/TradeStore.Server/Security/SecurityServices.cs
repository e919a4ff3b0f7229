using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using TradeStore.Core.Options;
using TradeStore.Core.Security;
using TradeStore.Server.Api;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Security;

/// <summary>Wires authentication (API keys), authorization policies and per-key rate limits into the host.</summary>
public static class SecurityServices
{
    /// <summary>
    /// Refuses to listen beyond loopback without keys: with authentication off anyone who reaches the port
    /// could read and write every trade.
    /// </summary>
    /// <exception cref="ConfigurationException">A <c>Server:Urls</c> entry is not loopback and no key is configured.</exception>
    public static void RequireSafeBinding(TradeStoreSettings settings)
    {
        if (settings.Security.ApiKeys.Count > 0)
        {
            return;
        }

        var exposed = settings.Server.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(url => !Loopback.IsListenAddress(url)).ToList();
        if (exposed.Count > 0)
        {
            throw new ConfigurationException(
                $"Server:Urls: {string.Join(", ", exposed)} is not a loopback address, and no API keys are configured (Security:ApiKeys), " +
                "so anyone who reaches it could read and write every trade. Create a key with `tradestore keys new --role admin` and configure it, or listen on http://127.0.0.1.");
        }
    }

    public static void Add(IServiceCollection services, TradeStoreSettings settings)
    {
        var security = settings.Security;
        services.AddSingleton(new ApiKeyStore(security));
        services.AddSingleton<RefusedKeyLog>(provider => new RefusedKeyLog(provider.GetService<TimeProvider>()));
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        WithoutDataProtectionKeyRingAtStart(services);
        services.AddAuthorizationBuilder()
            .AddPolicy(SecurityPolicies.Read, p => p.RequireRole(ApiRoles.Reader))
            .AddPolicy(SecurityPolicies.Write, p => p.RequireRole(ApiRoles.Trader))
            .AddPolicy(SecurityPolicies.Query, p => p.RequireRole(security.Query.AllowReaders ? ApiRoles.Reader : ApiRoles.Admin))
            .AddPolicy(SecurityPolicies.Metrics, p => p.RequireAssertion(context => MetricsAllowed(security.Metrics, context)));
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = GlobalLimiter(security);
            options.OnRejected = OnRejectedAsync;
        });
    }

    /// <summary>Authentication, then rate limits (partitioned by the authenticated key), then authorization.</summary>
    public static void Use(WebApplication app, TradeStoreSettings settings)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        var store = app.Services.GetRequiredService<ApiKeyStore>();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (store.AuthenticationOff)
            {
                // The addresses actually bound: Kestrel's own configuration may differ from Server:Urls.
                Log.AuthenticationOff(app.Logger, BoundAddresses.Of(app) is { Count: > 0 } bound ? string.Join(";", bound) : settings.Server.Urls);
            }
            else
            {
                Log.AuthenticationOn(app.Logger, store.Count);
            }

            var connections = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections;
            var openFiles = ConnectionLimit.OpenFiles();
            Log.ConnectionLimit(app.Logger, ConnectionLimit.Describe(connections), openFiles?.ToString(CultureInfo.InvariantCulture) ?? "unlimited");
            if (openFiles is { } files && files < ConnectionLimit.AdvisedOpenFiles)
            {
                Log.FewOpenFiles(app.Logger, files, ConnectionLimit.AdvisedOpenFiles);
            }
        });
    }

    /// <summary>
    /// <c>AddAuthentication</c> brings ASP.NET Core's data protection, whose hosted service makes a key ring at start-up:
    /// on a machine (or container) without one, every first start wrote a key into <c>~/.aspnet/DataProtection-Keys</c>,
    /// outside the data directory, and logged the warning "No XML encryptor configured. Key … may be persisted to storage
    /// in unencrypted form". Nothing here protects data with it (API keys are bearer keys checked against their hashes;
    /// there are no cookies), so the key ring is left to be made on first use, which never comes.
    /// </summary>
    private static void WithoutDataProtectionKeyRingAtStart(IServiceCollection services)
    {
        var keyRingAtStart = services.Where(d => d.ServiceType == typeof(IHostedService)
                && d.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService")
            .ToList();
        foreach (var descriptor in keyRingAtStart)
        {
            services.Remove(descriptor);
        }
    }

    /// <remarks>
    /// By design a key that was sent and did not authenticate is refused (401) whatever <paramref name="access"/> says, also
    /// from loopback: the caller meant to be someone and is not, and answering would make a wrong key look accepted
    /// (the console's writes panel filled while its key was refused). Loopback and <c>Open</c> serve callers without a key.
    /// </remarks>
    private static bool MetricsAllowed(MetricsAccess access, AuthorizationHandlerContext context)
    {
        var http = context.Resource as HttpContext;
        if (http is not null && KeyRefused(http, context.User))
        {
            return false;
        }

        return access switch
        {
            MetricsAccess.Open => true,
            MetricsAccess.Loopback => context.User.IsInRole(ApiRoles.Admin) || (http is not null && Loopback.IsCaller(http)),
            _ => context.User.IsInRole(ApiRoles.Admin),
        };
    }

    /// <summary>Whether the request sent an <c>Authorization</c> header that did not authenticate.</summary>
    private static bool KeyRefused(HttpContext http, ClaimsPrincipal user) =>
        http.Request.Headers.Authorization.Count > 0 && user.Identity?.IsAuthenticated != true;

    /// <remarks>
    /// By design each partition's factory is made once here, and partitions are keyed by <see cref="LimitPartition"/>:
    /// a lambda per request and a key string per request and limiter were among the largest allocations of a point read.
    /// </remarks>
    private static PartitionedRateLimiter<HttpContext> GlobalLimiter(SecurityOptions security)
    {
        var limiters = new List<PartitionedRateLimiter<HttpContext>>();
        if (security.RequestsPerSecond > 0)
        {
            // By design refilled by the time gone by at each request (TokenBucket), not by a timer: a bucket's own timer added
            // a whole second's tokens once a second and kept only RequestBurst of them, so a burst below the rate capped it
            // (400/s with a burst of 20 served 20/s). The bucket holds at least a tenth of a second's tokens (BucketSize()).
            var size = security.BucketSize(); // at least RequestBurst, which is at least 1
            var rate = security.RequestsPerSecond;
            Func<LimitPartition, RateLimiter> tokenBucket = _ => new TokenBucket(size, rate, TimeProvider.System);
            limiters.Add(PartitionedRateLimiter.Create<HttpContext, LimitPartition>(context => Exempt(context)
                ? RateLimitPartition.GetNoLimiter(LimitPartition.Exempt)
                : new RateLimitPartition<LimitPartition>(LimitPartition.Of(context), tokenBucket)));
        }

        if (security.ConcurrentRequests > 0)
        {
            var options = new ConcurrencyLimiterOptions { PermitLimit = security.ConcurrentRequests, QueueLimit = 0 };
            Func<LimitPartition, RateLimiter> concurrency = _ => new ConcurrencyLimiter(options);
            limiters.Add(PartitionedRateLimiter.Create<HttpContext, LimitPartition>(context => Exempt(context) || ChangeStream(context)
                ? RateLimitPartition.GetNoLimiter(LimitPartition.Exempt)
                : new RateLimitPartition<LimitPartition>(LimitPartition.Of(context), concurrency)));
        }

        return limiters.Count switch
        {
            0 => PartitionedRateLimiter.Create<HttpContext, LimitPartition>(_ => RateLimitPartition.GetNoLimiter(LimitPartition.Exempt)),
            1 => limiters[0],
            _ => PartitionedRateLimiter.CreateChained([.. limiters]),
        };
    }

    /// <summary>
    /// By design a change stream does not count as a request in progress: it lasts as long as its reader, so three open
    /// streams under <c>Security:ConcurrentRequests=3</c> got the key's every other request 429. Streams have their own
    /// bounds (<c>Changes:MaxSubscribers</c>, <c>Changes:MaxSubscribersPerKey</c>); opening one still counts against the rate.
    /// </summary>
    private static bool ChangeStream(HttpContext context) => context.Request.Path.StartsWithSegments("/v1/changes", StringComparison.Ordinal);

    /// <summary>By design health probes are never limited: a flood must not make a supervisor restart a healthy process.</summary>
    private static bool Exempt(HttpContext context) => context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal);

    private static async ValueTask OnRejectedAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var context = rejected.HttpContext;
        var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter)
            ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds))
            : 1;
        await ApiResults.Problem(context, Problems.TooManyRequests(seconds)).ExecuteAsync(context);
    }
}
