using System.Runtime.InteropServices;

namespace TradeStore.Guard;

/// <summary>POSIX signal numbers (Linux) and <c>kill(2)</c>, which .NET exposes only as SIGKILL through <c>Process.Kill</c>.</summary>
public static partial class PosixSignals
{
    public const int SigHup = 1;
    public const int SigInt = 2;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    private static readonly Dictionary<int, string> Names = new()
    {
        [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS",
        [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE",
        [14] = "SIGALRM", [15] = "SIGTERM", [18] = "SIGCONT", [19] = "SIGSTOP", [24] = "SIGXCPU", [25] = "SIGXFSZ",
    };

    public static string Name(int signal) => Names.TryGetValue(signal, out var name) ? name : $"signal {signal}";

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, int signal) => Kill(pid, signal) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
