using TradeStore.Bench;
using TradeStore.Bench.Commands;
using TradeStore.Cli;
using TradeStore.Core.Threading;

// As serve's by default: the bare endpoint (http --baseline) runs in this process, and the load generators cost the
// 2-core machine less. The rule that comes with it (SocketEventThreads): no synchronous wait on a socket, or on a
// process's redirected output, from code that may run on an event thread; such a call goes through Task.Run.
SocketEventThreads.EnableInlineCompletions();
using var interruption = new Interruption(Console.Error);
var exitCode = await CliRunner.RunAsync(BenchCommand.CreateRoot(), args, cancellationToken: interruption.Token);
return interruption.ExitCode ?? exitCode;
