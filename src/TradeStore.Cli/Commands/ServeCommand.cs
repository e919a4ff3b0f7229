using System.CommandLine;
using Microsoft.Extensions.Hosting;
using TradeStore.Core.Options;
using TradeStore.Server;

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
        var command = new Command("serve", "Run the TradeStore service: opens (or creates) DIR/tradestore.duckdb and serves HTTP until SIGTERM or Ctrl-C.")
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
            await using var app = TradeStoreHost.Build(configuration);
            // The host's own console lifetime handles SIGTERM and Ctrl-C and runs the graceful shutdown.
            // Started through BoundAddresses: a bind failure or an exposed address without keys exits 2, naming it.
            await Server.Security.BoundAddresses.StartAsync(app, CancellationToken.None);
            await app.WaitForShutdownAsync(CancellationToken.None);
            return ExitCodes.Success;
        });
        return command;
    }
}
