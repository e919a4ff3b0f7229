using System.CommandLine;
using DuckDB.NET.Data;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TradeStore.Core.Options;
using TradeStore.Core.Threading;
using TradeStore.Server;
using TradeStore.Server.Configuration;
using TradeStore.Storage;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore serve</c>: runs the HTTP service until SIGTERM or Ctrl-C.</summary>
public static class ServeCommand
{
    private static readonly Option<string?> Urls = new("--urls")
    {
        Description = "Addresses to listen on, separated by ';' (configuration key Server:Urls). Default http://127.0.0.1:5080.",
        HelpName = "URL",
    };

    public static Command Create()
    {
        var command = new Command("serve", "Run the TradeStore service: opens (or creates) the journal log and DIR/tradestore.duckdb, replays into DuckDB what the log holds beyond it, and serves HTTP until SIGTERM or Ctrl-C.")
        {
            Urls,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var flags = new Dictionary<string, string?>();
            if (parseResult.GetValue(Urls) is { } urls)
            {
                flags[$"{ServerOptions.SectionName}:{nameof(ServerOptions.Urls)}"] = urls;
            }

            var configuration = CommonOptions.BuildConfiguration(parseResult, flags);
            var settings = TradeStoreSettings.Bind(configuration);
            if (settings.Server.InlineScheduling)
            {
                // A process-wide switch .NET reads at the first socket: before the host, which opens Redis connections.
                // A cluster node's etcd connections are read by threads of their own (EtcdChannel), so its lease's
                // renewals never wait behind the requests these threads run.
                SocketEventThreads.EnableInlineCompletions();
            }

            Server.Security.BoundAddresses.ThrowIfInUse(configuration);
            await using var app = TradeStoreHost.Build(configuration);
            try
            {
                // The host's lifetime (SignalLifetime) handles SIGTERM and Ctrl-C and runs the graceful shutdown; a signal
                // during the start waits for it. Started through BoundAddresses: a bind failure or an exposed address
                // without keys exits 2, naming it.
                try
                {
                    await Server.Security.BoundAddresses.StartAsync(app, CancellationToken.None);
                }
                catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    // Something in the process stopped the application while the host started (the engine failing, a
                    // cluster node told to stop), which cancels the start. Not a crash: the stop below runs as usual
                    // (the engine drains, the database is closed) and the exit code says why it stopped.
                }

                await app.WaitForShutdownAsync(CancellationToken.None);
            }
            catch (DuckDBException ex)
            {
                // The engine reads the whole state at start: a corrupt block or an I/O error surfaces here.
                throw DatabaseOpenException.ReadFailed(app.Services.GetRequiredService<DuckDbDatabase>().Path, ex);
            }

            return Server.Cluster.ClusterHosting.ExitCode(app) ?? app.Services.GetRequiredService<Server.Lifetime.EngineFailureStop>().ExitCode ?? ExitCodes.Success;
        });
        return command;
    }
}
