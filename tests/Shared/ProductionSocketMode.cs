using System.Runtime.CompilerServices;
using TradeStore.Core.Threading;

namespace TradeStore.Tests;

/// <summary>
/// Every test process polls its sockets the way <c>tradestore serve</c> does by default (<c>Server:InlineScheduling</c>):
/// .NET reads the switch once, at the first socket, so it is set when the test assembly loads, before any test runs.
/// </summary>
internal static class ProductionSocketMode
{
    [ModuleInitializer]
    internal static void Enable() => SocketEventThreads.EnableInlineCompletions();
}
