using System.Diagnostics;
using System.Text;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// <c>tradestore</c> whose standard output cannot be written: on a full disk (<c>/dev/full</c>) a command ends with exit
/// code 8 and one line on stderr, not with .NET's unhandled-exception abort (exit 134 and a stack trace); when the
/// reader of its pipe exits (<c>| head -1</c>) it stops quietly with exit code 8 instead of following for ever. Run
/// through <c>/bin/sh</c>, which gives the child those standard outputs as an operator's shell does.
/// </summary>
public sealed class StandardOutputFailureTests : IDisposable
{
    private readonly TempDirectory _work = new("stdout-failure");

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("--help")]
    [InlineData("config show")]
    public async Task Command_StdoutOnFullDisk_ExitsEightWithOneLineOnStderr(string command)
    {
        using var shell = Shell.Start($"exec dotnet \"$0\" {command} > /dev/full", _work.Path, TradeStoreProcess.CliPath);
        var exitCode = await shell.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 8, $"exit code {exitCode}:\n{shell.Error}");
        Assert.Equal("tradestore: cannot write standard output: No space left on device; the output is incomplete.", shell.Error.TrimEnd('\n'));
    }

    /// <summary>
    /// A log file shared with the shell, as a script's <c>&gt; log 2&gt;&amp;1</c> makes it: every line lands in order.
    /// Regression: stdout opened as a FileStream wrote at its own offset, and the shell's later lines overwrote the
    /// command's output (a benchmark script's log lost every figure).
    /// </summary>
    [Fact]
    public async Task Command_StdoutFileSharedWithTheShell_EveryLineKeptInOrder()
    {
        var log = _work.File("shared.log");
        using var shell = Shell.Start("{ echo before; dotnet \"$0\" --version; echo after; } > \"$1\"", _work.Path, TradeStoreProcess.CliPath, log);
        var exitCode = await shell.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{shell.Error}");
        var lines = await File.ReadAllLinesAsync(log, TestContext.Current.CancellationToken);
        Assert.True(lines.Length == 3 && lines[0] == "before" && lines[2] == "after" && lines[1].Length > 0, string.Join("\n", lines));
    }

    [Fact]
    public async Task Tail_ReaderOfItsPipeExits_StopsQuietlyWithExitEight()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var serve = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        await CreateAsync(http, "P-0");
        var exitFile = _work.File("tail-exit");

        // tail's own exit code goes to a file: the pipeline's is head's.
        using var shell = Shell.Start("{ dotnet \"$0\" tail --url \"$1\" --from 1; echo $? > \"$2\"; } | head -n 1 > /dev/null", _work.Path,
            TradeStoreProcess.CliPath, url, exitFile);
        // Until head has read its line and exited, tail's lines still fit in the pipe; each new trade is one more line.
        for (var i = 1; i <= 120 && !shell.HasExited; i++)
        {
            await CreateAsync(http, $"P-{i}");
            await shell.WaitForExitAsync(TimeSpan.FromSeconds(1), throwOnTimeout: false);
        }

        Assert.True(shell.HasExited, "tail went on following after the reader of its output exited");
        Assert.Equal("8", (await File.ReadAllTextAsync(exitFile, TestContext.Current.CancellationToken)).Trim());
        Assert.Equal("", shell.Error);
    }

    /// <summary>
    /// <c>tail … | head -1</c> on a feed with no new events: head has its line and exits, and tail, with nothing more to
    /// write, must still notice. Regression: it waited for the next event to fail writing, so on an idle server the
    /// pipeline never ended.
    /// </summary>
    [Fact]
    public async Task Tail_ReaderOfItsPipeExitsWhileTheFeedIsQuiet_StopsQuietlyWithExitEight()
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var serve = TradeStoreProcess.Start(["serve", "--data", _work.File("data"), "--urls", url], _work.Path);
        await serve.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        await CreateAsync(http, "Q-1");
        var exitFile = _work.File("tail-exit");

        using var shell = Shell.Start("{ dotnet \"$0\" tail --url \"$1\" --from 1; echo $? > \"$2\"; } | head -n 1 > /dev/null", _work.Path,
            TradeStoreProcess.CliPath, url, exitFile);
        // No trade is created from here on: the one line tail prints is all it will ever have to write.
        var exitCode = await shell.WaitForExitAsync(TimeSpan.FromSeconds(90), throwOnTimeout: false);

        Assert.True(exitCode != -1, "tail went on following a quiet feed after the reader of its output exited");
        Assert.Equal("8", (await File.ReadAllTextAsync(exitFile, TestContext.Current.CancellationToken)).Trim());
        Assert.Equal("", shell.Error);
    }

    private static async Task CreateAsync(HttpClient http, string tradeId)
    {
        using var body = new StringContent($$"""{"tradeId":"{{tradeId}}","account":"ACC-1","symbol":"AAPL","side":"buy","quantity":"1","price":"2.5"}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri("/v1/trades", UriKind.Relative), body, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Created, response.StatusCode);
    }

    /// <summary><c>/bin/sh -c script arguments…</c> with its stderr captured; its stdout is what the script makes it.</summary>
    private sealed class Shell : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _error = new();
        private readonly Lock _errorLock = new();

        private Shell(Process process) => _process = process;

        public bool HasExited => _process.HasExited;

        public string Error
        {
            get
            {
                lock (_errorLock)
                {
                    return _error.ToString();
                }
            }
        }

        public static Shell Start(string script, string workingDirectory, params string[] arguments)
        {
            var start = new ProcessStartInfo("/bin/sh") { WorkingDirectory = workingDirectory, RedirectStandardError = true, UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            foreach (var argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            // As TradeStoreProcess does: no TradeStore settings of this machine in the child.
            foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("TRADESTORE__", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                start.Environment.Remove(key);
            }

            var shell = new Shell(new Process { StartInfo = start });
            shell._process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (shell._errorLock)
                    {
                        shell._error.Append(e.Data).Append('\n');
                    }
                }
            };
            shell._process.Start();
            shell._process.BeginErrorReadLine();
            return shell;
        }

        /// <summary>The exit code; after <paramref name="timeout"/> a <see cref="TimeoutException"/>, or -1 without <paramref name="throwOnTimeout"/>.</summary>
        public async Task<int> WaitForExitAsync(TimeSpan timeout, bool throwOnTimeout = true)
        {
            using var cancel = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException) when (!throwOnTimeout)
            {
                return -1;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"/bin/sh did not exit within {timeout}:\n{Error}");
            }

            _process.WaitForExit(); // the end of stderr is read
            return _process.ExitCode;
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
