using System.CommandLine;
using TradeStore.Cli;

namespace TradeStore.Bench.Commands;

/// <summary><c>tradestore-bench clients</c>: the client libraries' costs against a running server (see <see cref="ClientBenchmark"/>).</summary>
public static class ClientBenchCommand
{
    public static Command Create()
    {
        var url = new Option<Uri>("--url")
        {
            Description = "Base address of a running server (its Security:Query:MaxRows must allow the query's rows).",
            Required = true,
            HelpName = "URL",
            CustomParser = BenchCommand.ParseUrl,
        };
        var seed = new Option<int>("--seed") { Description = "Create trades until the journal holds at least N events.", DefaultValueFactory = _ => 1_000_000, HelpName = "N" };
        var sql = new Option<string>("--sql") { Description = "The large query read as JSON and as Arrow.", DefaultValueFactory = _ => "SELECT * FROM trade_events LIMIT 1000000" };
        var connections = new Option<int>("--connections") { Description = "Concurrent requests (and connections) of the overhead runs.", DefaultValueFactory = _ => 32, HelpName = "C" };
        var duration = new Option<int>("--duration") { Description = "Seconds per overhead run.", DefaultValueFactory = _ => 10, HelpName = "S" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds of each measurement (overhead rounds alternate which side goes first).", DefaultValueFactory = _ => 3, HelpName = "N" };
        OptionRules.AtLeast(1, seed, connections, duration, rounds);

        var command = new Command("clients", "Client libraries against a running server: a large query as JSON vs Arrow, and TradeStoreClient's overhead over a bare HttpClient at C connections.")
        {
            url, seed, sql, connections, duration, rounds,
        };
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            await ClientBenchmark.RunAsync(new ClientBenchmarkOptions(parseResult.GetValue(url)!, parseResult.GetValue(seed), parseResult.GetValue(sql)!, parseResult.GetValue(connections),
                TimeSpan.FromSeconds(parseResult.GetValue(duration)), parseResult.GetValue(rounds)), parseResult.InvocationConfiguration.Output, cancellationToken);
            return ExitCodes.Success;
        });
        return command;
    }
}
