using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace TradeStore.Tests;

/// <summary>
/// The real host on an in-memory test server whose callers are 127.0.0.1, as a client of the embedded default is.
/// TestServer requests carry no remote address, which the host treats as not loopback (fail closed): without this, an
/// in-process test would be a remote caller without a key (refused <c>/metrics</c>, readiness without descriptions).
/// </summary>
internal static class LoopbackTestServer
{
    /// <summary>A test may name the caller's address with this header (<c>none</c>: no address); without it the caller is 127.0.0.1.</summary>
    public const string RemoteAddressHeader = "X-Test-Remote-Address";

    public static void UseLoopbackTestServer(this WebApplicationBuilder builder)
    {
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<IStartupFilter>(new RemoteAddressFilter());
    }

    private sealed class RemoteAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((HttpContext context, RequestDelegate nextMiddleware) =>
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
