using System.CommandLine;
using TradeStore.Cli;
using TradeStore.Cli.Commands;

var root = new RootCommand("TradeStore: durable trade capture (a checksummed journal log, applied to embedded DuckDB), state served from memory, with Redis real-time state and ClickHouse analytics.")
{
    CommonOptions.Config,
    CommonOptions.Data,
    ServeCommand.Create(),
    ConfigCommand.Create(),
    SyncCommand.Create(),
    RedisCommand.Create(),
    VerifyCommand.Create(),
    RecoverCommand.Create(),
    TailCommand.Create(),
    MigrateCommand.Create(),
    GuardCommand.Create(),
    KeysCommand.Create(),
    ClusterCommand.Create(),
};

return await CliRunner.RunAsync(root, args);
