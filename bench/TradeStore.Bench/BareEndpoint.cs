using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using TradeStore.Core.Trades;
using TradeStore.Server;

namespace TradeStore.Bench;

/// <summary>
/// The limit a storage engine is measured against (<c>tradestore-bench http --baseline</c>): the same TradeStore HTTP
/// pipeline (Kestrel, routing, authorization, request parsing and validation, the trade lifecycle, the JSON answer),
/// in this process, with the commands decided against an in-memory dictionary and never stored. It answers 201 for a
/// new trade exactly as <c>serve</c> would, so the ratio of the two isolates what durability costs.
/// </summary>
internal sealed class BareEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BenchDirectory _directory;

    private BareEndpoint(WebApplication app, BenchDirectory directory, Uri url)
    {
        _app = app;
        _directory = directory;
        Url = url;
    }

    public Uri Url { get; }

    public static async Task<BareEndpoint> StartAsync(CancellationToken cancellationToken)
    {
        var directory = new BenchDirectory();
        var url = $"http://127.0.0.1:{FreePort()}";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:DataDirectory"] = directory.Path,
            ["Server:Urls"] = url,
            // Unlimited, like the server scripts/bench-write-path.sh starts: 429s would cap both sides of the ratio.
            ["Security:RequestsPerSecond"] = "0",
        }).Build();
        var app = TradeStoreHost.Build(configuration, builder =>
        {
            builder.Services.Replace(ServiceDescriptor.Singleton<ITradeCommands>(new InMemoryCommands()));
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await app.StartAsync(cancellationToken);
        return new BareEndpoint(app, directory, new Uri(url + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _directory.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Decides each command with <see cref="TradeLifecycle"/> against the states in memory; stores nothing.</summary>
    private sealed class InMemoryCommands : ITradeCommands
    {
        private readonly Dictionary<string, Trade> _trades = new(StringComparer.Ordinal);
        private long _seq;

        public ValueTask<CommandResult> SubmitAsync(TradeCommand command, CancellationToken cancellationToken = default)
        {
            lock (_trades)
            {
                var current = _trades.GetValueOrDefault(command.TradeId);
                if (!TradeLifecycle.TryDecide(command, current, _seq + 1, Timestamps.Normalize(DateTimeOffset.UtcNow), out var transition, out var error))
                {
                    return new(CommandResult.Refused(error!));
                }

                _seq++;
                _trades[transition.State.TradeId] = transition.State;
                return new(CommandResult.Applied(transition.State));
            }
        }
    }
}
