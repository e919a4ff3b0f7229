using System.CommandLine;
using TradeStore.Cli;
using TradeStore.Cli.Commands;

var root = new RootCommand("TradeStore: durable trade capture on embedded DuckDB, with Redis real-time state and ClickHouse analytics.")
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
