using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace TradeStore.TestSupport;

/// <summary>
/// The real <c>tradestore</c> executable run as a child process, for tests that need a process boundary
/// (signals, crashes, file locks) and for <c>tradestore-bench</c>, whose HTTP benchmarks measure a real <c>serve</c>:
/// the one wrapper of that process. Output is captured for assertions and failure messages.
/// </summary>
public sealed partial class TradeStoreProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();
    private readonly List<(string Text, TaskCompletionSource Seen)> _outputWaiters = [];

    private const int SigInt = 2;
    private const int SigStop = 19;
    private const int SigCont = 18;
    private const nint SigIgn = 1;
    private const nint SigDfl = 0;

    /// <summary>
    /// A test run started in the background by a non-interactive shell (<c>bash .ci/run &amp;</c>, nohup) inherits SIGINT
    /// ignored, as POSIX has such shells do, and every child would too: a .NET program keeps an inherited SIG_IGN, so
    /// the tests that stop a child with SIGINT (Ctrl-C) waited for an exit that never came. The children get the default
    /// disposition back, as from an interactive shell; a handler this process installed is left alone.
    /// </summary>
    static unsafe TradeStoreProcess()
    {
        // struct sigaction starts with the handler; 256 bytes hold all of it on every Linux ABI.
        var current = stackalloc nint[32];
        if (QuerySignalAction(SigInt, null, current) == 0 && current[0] == SigIgn)
        {
            SetSignalHandler(SigInt, SigDfl);
        }
    }

    private TradeStoreProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Everything the child wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Path of the built <c>tradestore.dll</c> that matches the test build's configuration.</summary>
    public static string CliPath
    {
        get
        {
            var testBin = AppContext.BaseDirectory.TrimEnd(System.IO.Path.DirectorySeparatorChar); // …/tests/X/bin/<Configuration>/net10.0
            var configuration = new DirectoryInfo(testBin).Parent!.Name;
            var root = FindRepositoryRoot(testBin);
            var path = System.IO.Path.Combine(root, "src", "TradeStore.Cli", "bin", configuration, "net10.0", "tradestore.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"Build the CLI first: {path} is missing.", path);
        }
    }

    /// <summary>Path of the built <c>tradestore-bench.dll</c>, the benchmark tool that ships apart from <c>tradestore</c>.</summary>
    public static string BenchPath
    {
        get
        {
            var cli = CliPath; // …/src/TradeStore.Cli/bin/<Configuration>/net10.0/tradestore.dll
            var configuration = new DirectoryInfo(System.IO.Path.GetDirectoryName(cli)!).Parent!.Name;
            var root = FindRepositoryRoot(System.IO.Path.GetDirectoryName(cli)!);
            var path = System.IO.Path.Combine(root, "bench", "TradeStore.Bench", "bin", configuration, "net10.0", "tradestore-bench.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"Build the bench first: {path} is missing.", path);
        }
    }

    /// <summary>The repository's root folder (the one holding <c>TradeStore.slnx</c>) above the test binaries.</summary>
    public static string RepositoryRoot => FindRepositoryRoot(AppContext.BaseDirectory);

    /// <summary>Path of the native launcher (apphost) <c>tradestore</c> beside <see cref="CliPath"/>.</summary>
    public static string AppHostPath => System.IO.Path.Combine(System.IO.Path.GetDirectoryName(CliPath)!, "tradestore");

    /// <param name="appHost">Run the native launcher instead of <c>dotnet tradestore.dll</c>.</param>
    /// <param name="assembly">The managed assembly to run with <c>dotnet</c>; default <see cref="CliPath"/>.</param>
    /// <param name="inheritSettings">
    /// Keep this process's <c>TRADESTORE__</c> variables for the child (the bench's server reads the usual configuration);
    /// by default they are removed, so a test's child never picks up this machine's settings.
    /// </param>
    /// <param name="launcher">
    /// A command that runs the child as its last arguments, such as <c>prlimit --nofile=2048:2048</c> (which execs it, so
    /// <see cref="Id"/> is the child's).
    /// </param>
    public static TradeStoreProcess Start(IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string>? environment = null, bool appHost = false,
        string? assembly = null, bool inheritSettings = false, IReadOnlyList<string>? launcher = null)
    {
        var program = appHost ? AppHostPath : "dotnet";
        var start = new ProcessStartInfo(launcher is { Count: > 0 } ? launcher[0] : program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (launcher is { Count: > 0 })
        {
            foreach (var argument in launcher.Skip(1).Append(program))
            {
                start.ArgumentList.Add(argument);
            }
        }

        if (!appHost)
        {
            start.ArgumentList.Add(assembly ?? CliPath);
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // A test's child must not pick up this machine's TradeStore settings, nor this process's socket mode
        // (tests/Shared/ProductionSocketMode.cs): serve decides its own, as it does when an operator starts it.
        foreach (var key in start.Environment.Keys.Where(k => !inheritSettings && k.StartsWith("TRADESTORE__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(key);
        }

        // SocketEventThreads.InlineCompletionsVariable; spelled out, as this library does not reference TradeStore.Core.
        start.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var child = new TradeStoreProcess(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a command to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        await using var child = Start(arguments, workingDirectory, environment);
        var exitCode = await child.WaitForExitAsync(timeout ?? TimeSpan.FromMinutes(2));
        return (exitCode, child.Output);
    }

    /// <summary>Runs <c>tradestore-bench</c> to completion and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunBenchAsync(IEnumerable<string> arguments, string workingDirectory, IDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        await using var child = Start(arguments, workingDirectory, environment, assembly: BenchPath);
        var exitCode = await child.WaitForExitAsync(timeout ?? TimeSpan.FromMinutes(2));
        return (exitCode, child.Output);
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx, the child exits, or the timeout passes.</summary>
    /// <remarks>
    /// A child starved of CPU on a loaded machine (CI's load averages reach 17–50 on 2 cores) is given the time again, once:
    /// at load ~40 a node wrote no line within 60 s while every test beside it still ran. The failure says how much CPU
    /// the child had, to tell a starved start from a stuck one.
    /// </remarks>
    public async Task WaitUntilAnsweringAsync(string url, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        var extended = false;
        while (true)
        {
            if (DateTime.UtcNow >= deadline)
            {
                if (extended || !Starved(timeout))
                {
                    break;
                }

                extended = true;
                deadline += timeout;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"tradestore exited with code {_process.ExitCode} before answering {url}:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            catch (TaskCanceledException)
            {
                // not answering yet
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"tradestore did not answer {url} within {(extended ? timeout * 2 : timeout)} ({CpuTime()} of CPU used):\n{Output}");
    }

    /// <summary>Whether the child used under a quarter of <paramref name="wall"/> as CPU time: it waited for the CPU more than it ran.</summary>
    private bool Starved(TimeSpan wall) => CpuUsed() is { } used && used < wall / 4;

    private string CpuTime() => CpuUsed() is { } used ? $"{used.TotalSeconds:0.0} s" : "unknown";

    /// <summary>The child's CPU time so far, or <see langword="null"/> once it has exited (the caller's loop says so).</summary>
    private TimeSpan? CpuUsed()
    {
        try
        {
            _process.Refresh();
            return _process.TotalProcessorTime;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// Returns as soon as the child has written a line containing <paramref name="text"/> (at once if it already has):
    /// for a test that acts at a moment the child's log marks, such as a signal right after a start-up step. Throws when
    /// the child exits first or the timeout passes.
    /// </summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_outputLock)
        {
            if (_output.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            _outputWaiters.Add((text, seen));
        }

        using var cancel = new CancellationTokenSource();
        var exited = _process.WaitForExitAsync(cancel.Token);
        var woke = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout, cancel.Token));
        await cancel.CancelAsync();
        if (woke == seen.Task)
        {
            return;
        }

        throw woke == exited
            ? new InvalidOperationException($"tradestore exited with code {_process.ExitCode} before writing '{text}':\n{Output}")
            : new TimeoutException($"tradestore did not write '{text}' within {timeout}:\n{Output}");
    }

    /// <summary>Sends a POSIX signal (SIGTERM = 15, SIGINT = 2, SIGKILL = 9).</summary>
    public void Signal(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed with errno {Marshal.GetLastPInvokeError()}.");
        }
    }

    /// <summary>
    /// Pauses the child with SIGSTOP and returns once every one of its threads is stopped. The kernel stops a process
    /// thread by thread: <c>kill</c> returns when the signal is queued, and on a loaded machine the child's other threads
    /// may go on for milliseconds (long enough to take a request, fsync and answer). A test that asserts what happens
    /// "while it is paused" must start only after this returns. <see cref="Resume"/> continues it.
    /// </summary>
    public async Task PauseAsync(TimeSpan timeout)
    {
        Signal(SigStop);
        var started = Stopwatch.GetTimestamp();
        while (!AllThreadsStopped(_process.Id))
        {
            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"tradestore (pid {_process.Id}) did not stop within {timeout} of SIGSTOP.");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Continues a child paused by <see cref="PauseAsync"/> (SIGCONT).</summary>
    public void Resume() => Signal(SigCont);

    /// <summary>Whether every thread of <paramref name="pid"/> is in state T (stopped), read from /proc.</summary>
    private static bool AllThreadsStopped(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").All(task =>
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('T');
            }
            catch (IOException)
            {
                return true; // the thread ended
            }
        });

    /// <summary>Waits for the child to exit; returns its exit code. Kills it and throws on timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"tradestore did not exit within {timeout}:\n{Output}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_outputLock)
        {
            _output.AppendLine(line);
            foreach (var waiter in _outputWaiters.Where(w => line.Contains(w.Text, StringComparison.Ordinal)).ToList())
            {
                _outputWaiters.Remove(waiter);
                waiter.Seen.TrySetResult();
            }
        }
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "TradeStore.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No TradeStore.slnx above {start}.");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "signal")]
    private static partial nint SetSignalHandler(int signal, nint handler);

    [LibraryImport("libc", EntryPoint = "sigaction")]
    private static unsafe partial int QuerySignalAction(int signal, void* action, void* previous);
}
