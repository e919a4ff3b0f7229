using System.Collections.Concurrent;

namespace TradeStore.Bench;

/// <summary>
/// The servers and cluster nodes this process runs as child processes, for <see cref="Interruption"/>: a second Ctrl-C or
/// SIGTERM ends the bench at once, without the <c>finally</c> blocks that stop them, and they ran on orphaned (a
/// <c>tradestore serve</c> on its port, loading the machine, until someone found its pid). Each is killed first.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<object, Action> Killers = new();

    /// <summary>Registers how to kill one child (it must do nothing once the child has exited); dispose to unregister.</summary>
    public static IDisposable Track(Action kill)
    {
        var key = new object();
        Killers[key] = kill;
        return new Registration(key);
    }

    /// <summary>Kills every registered child that still runs (SIGKILL); called on the signal's thread, it never throws.</summary>
    public static void KillAll()
    {
        foreach (var kill in Killers.Values)
        {
            try
            {
                kill();
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
                // Exited and disposed meanwhile: nothing to kill.
            }
        }
    }

    private sealed class Registration(object key) : IDisposable
    {
        public void Dispose() => Killers.TryRemove(key, out _);
    }
}
