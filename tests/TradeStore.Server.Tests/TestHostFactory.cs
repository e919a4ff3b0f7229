using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Tests;

/// <summary>Builds the real TradeStore host on an in-memory test server, with a real DuckDB file.</summary>
internal static class TestHostFactory
{
    /// <summary>A test may name the caller's address with this header; without it the caller is 127.0.0.1.</summary>
    public const string RemoteAddressHeader = "X-Test-Remote-Address";

    public static async Task<WebApplication> StartAsync(string dataDirectory, Dictionary<string, string>? environment = null, Action<WebApplicationBuilder>? configure = null)
    {
        var env = new Dictionary<string, string>(environment ?? []) { ["TRADESTORE__STORAGE__DATADIRECTORY"] = dataDirectory };
        var configuration = TradeStoreConfiguration.Build(new ConfigurationInputs
        {
            BaseDirectory = dataDirectory,
            WorkingDirectory = dataDirectory,
            Environment = env,
        });
        var app = TradeStoreHost.Build(configuration, builder =>
        {
            builder.WebHost.UseTestServer();
            // TestServer requests carry no remote address, which the host treats as not loopback (fail closed).
            // A real Kestrel client on 127.0.0.1 is what the embedded default serves, so tests default to that.
            builder.Services.AddSingleton<IStartupFilter>(new RemoteAddressFilter());
            configure?.Invoke(builder);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private sealed class RemoteAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                var header = context.Request.Headers[RemoteAddressHeader];
                context.Connection.RemoteIpAddress = header.Count == 0 ? IPAddress.Loopback
                    : header[0] == "none" ? null
                    : IPAddress.Parse(header[0]!);
                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
