using TradeStore.Bench.Commands;
using TradeStore.Cli;
using TradeStore.Core.Threading;

// The bare endpoint (http --baseline) runs in this process: its sockets are polled as serve's are by default.
SocketEventThreads.EnableInlineCompletions();
return await CliRunner.RunAsync(BenchCommand.CreateRoot(), args);
