using TradeStore.Bench.Commands;
using TradeStore.Cli;

return await CliRunner.RunAsync(BenchCommand.CreateRoot(), args);
