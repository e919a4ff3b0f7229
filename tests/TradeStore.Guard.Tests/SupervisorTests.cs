using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Testing;
using TradeStore.TestSupport;

namespace TradeStore.Guard.Tests;

/// <summary>The supervision loop with real (small, fast) shell processes and a real HTTP endpoint as the liveness target.</summary>
public sealed class SupervisorTests : IDisposable
{
    private readonly TempDirectory _work = new("guard");

    public void Dispose() => _work.Dispose();

    /// <summary>A file the child script creates once its signal trap is in place.</summary>
    private string Ready => _work.File("ready");

    private GuardOptions Options(string script, Uri? probeUrl = null) => new()
    {
        Command = new ChildCommand("/bin/sh", ["-c", script]),
        ProbeUrl = probeUrl ?? new Uri($"http://127.0.0.1:{FreePort.Next()}/health/live"),
        ProbeInterval = TimeSpan.FromMilliseconds(50),
        ProbeTimeout = TimeSpan.FromMilliseconds(500),
        ProbeFailures = 3,
        BackoffMin = TimeSpan.FromMilliseconds(10),
        BackoffMax = TimeSpan.FromMilliseconds(80),
        MaxRestarts = 3,
        RestartWindow = TimeSpan.FromMinutes(1),
        GracePeriod = TimeSpan.FromSeconds(10),
        StatusFile = _work.File("status.json"),
    };

    [Fact]
    public async Task Run_ChildCrashesAtOnce_GivesUpAfterMaxRestartsWithLastExit()
    {
        using var supervisor = new Supervisor(Options("exit 3"), NullLogger.Instance);

        var outcome = await supervisor.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.GaveUp, outcome);
        var status = StatusFile.Read(_work.File("status.json"))!;
        Assert.Equal(GuardStates.GaveUp, status.State);
        Assert.Equal(3, status.Restarts);
        Assert.Equal(3, status.LastExit!.ExitCode);
        Assert.Equal(ExitReasons.Exited, status.LastExit.Reason);
    }

    [Fact]
    public async Task Run_ChildExitsWithConfigurationError_NotRestartedAndReportedAsConfigurationError()
    {
        var starts = _work.File("starts");
        using var supervisor = new Supervisor(Options($"echo x >> {starts}; exit 2"), NullLogger.Instance);

        var outcome = await supervisor.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.ChildConfigurationError, outcome);
        Assert.Single(File.ReadAllLines(starts));
        var status = StatusFile.Read(_work.File("status.json"))!;
        Assert.Equal(GuardStates.Stopped, status.State);
        Assert.Equal(0, status.Restarts);
        Assert.Equal(2, status.LastExit!.ExitCode);
    }

    [Fact]
    public async Task Run_ChildRefusesItsJournal_NotRestartedAndReportedAsIntegrityRefusal()
    {
        // Exit 5: the start-up check refused a journal it cannot trust and changed nothing, so every restart met the same
        // refusal; the guard restarted it until it gave up (exit 10), or for ever when a start took longer than the window allowed.
        var starts = _work.File("starts");
        using var supervisor = new Supervisor(Options($"echo x >> {starts}; exit 5"), NullLogger.Instance);

        var outcome = await supervisor.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.ChildIntegrityRefusal, outcome);
        Assert.Single(File.ReadAllLines(starts));
        var status = StatusFile.Read(_work.File("status.json"))!;
        Assert.Equal(GuardStates.Stopped, status.State);
        Assert.Equal(0, status.Restarts);
        Assert.Equal(5, status.LastExit!.ExitCode);
    }

    [Fact]
    public async Task Run_StopRequested_ForwardsSignalAndChildExitsGracefully()
    {
        var marker = _work.File("got-term");
        using var supervisor = new Supervisor(Options($"trap 'touch {marker}; exit 0' TERM; touch {Ready}; while :; do sleep 0.05; done"), NullLogger.Instance);
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => File.Exists(Ready)); // the shell has installed its trap

        supervisor.RequestStop(PosixSignals.SigTerm);
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.Stopped, outcome);
        Assert.True(File.Exists(marker), "the child received SIGTERM");
        Assert.Equal(GuardStates.Stopped, StatusFile.Read(_work.File("status.json"))!.State);
    }

    [Fact]
    public async Task Run_ChildIgnoresSigterm_KilledAfterGracePeriod()
    {
        var options = Options($"trap '' TERM; touch {Ready}; while :; do sleep 0.05; done") with { GracePeriod = TimeSpan.FromMilliseconds(300) };
        using var supervisor = new Supervisor(options, NullLogger.Instance);
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => File.Exists(Ready));

        supervisor.RequestStop(PosixSignals.SigTerm);
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.StoppedForcefully, outcome);
        Assert.Equal("SIGKILL", supervisor.Status.LastExit!.Signal);
    }

    [Fact]
    public async Task Run_ChildFailsWhileStopping_ReportedAsError()
    {
        using var supervisor = new Supervisor(Options($"trap 'exit 3' TERM; touch {Ready}; while :; do sleep 0.05; done"), NullLogger.Instance);
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => File.Exists(Ready));

        supervisor.RequestStop(PosixSignals.SigTerm);
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.StoppedWithError, outcome);
        Assert.Equal(3, supervisor.Status.LastExit!.ExitCode);
    }

    [Fact]
    public async Task Run_ChildExitsZeroByItself_GuardStopsWithoutRestart()
    {
        using var supervisor = new Supervisor(Options("exit 0"), NullLogger.Instance);

        var outcome = await supervisor.RunAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(GuardOutcome.ChildExitedCleanly, outcome);
        Assert.Equal(0, supervisor.Status.Restarts);
    }

    [Fact]
    public async Task Run_ChildStopsAnsweringProbes_RestartedAsHung()
    {
        using var endpoint = new ToggleEndpoint();
        var options = Options("while :; do sleep 0.05; done", endpoint.Url);
        using var supervisor = new Supervisor(options, NullLogger.Instance);
        endpoint.AnswerAs = () => supervisor.Status.ChildPid;
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => supervisor.Status.State == GuardStates.Running);
        var firstPid = supervisor.Status.ChildPid;

        endpoint.Healthy = false;
        await Eventually.TrueAsync(() => supervisor.Status.Restarts == 1);
        endpoint.Healthy = true;
        await Eventually.TrueAsync(() => supervisor.Status.State == GuardStates.Running);

        Assert.Equal(ExitReasons.Hung, supervisor.Status.LastExit!.Reason);
        Assert.Equal(firstPid, supervisor.Status.LastExit.Pid);
        Assert.NotEqual(firstPid, supervisor.Status.ChildPid);
        supervisor.RequestStop(PosixSignals.SigTerm);
        Assert.Equal(GuardOutcome.Stopped, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// Another process answering on the child's port is not the child: its 200 once counted, and the guard reported as
    /// running a child that never listened (one that cannot bind the port, or is still replaying its journal).
    /// </summary>
    [Fact]
    public async Task Run_AnotherProcessAnswersOnThePort_ChildNeverCountsAsRunning()
    {
        using var endpoint = new ToggleEndpoint();
        var options = Options("while :; do sleep 0.05; done", endpoint.Url) with { StartupTimeout = TimeSpan.FromMinutes(1) };
        using var supervisor = new Supervisor(options, NullLogger.Instance);
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => supervisor.Status.LastProbe is not null);
        var probe = supervisor.Status.LastProbe!;
        var child = supervisor.Status.ChildPid;

        Assert.False(probe.Ok);
        Assert.Equal($"HTTP 200, but not from the child (pid {child}): another process answers on this port", probe.Detail);
        Assert.Equal(GuardStates.Starting, supervisor.Status.State);

        endpoint.AnswerAs = () => 1;
        await Eventually.TrueAsync(() => supervisor.Status.LastProbe?.Detail.Contains("from pid 1,", StringComparison.Ordinal) == true);
        Assert.Equal($"HTTP 200 from pid 1, not from the child (pid {child})", supervisor.Status.LastProbe!.Detail);
        Assert.Equal(GuardStates.Starting, supervisor.Status.State);
        supervisor.RequestStop(PosixSignals.SigTerm);
        Assert.Equal(GuardOutcome.Stopped, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
    }

    /// <summary>The secret the guard gives its child reaches it, and only the child answering with it counts.</summary>
    [Fact]
    public async Task Run_ChildGetsTheProbeSecret_TheProbeSendsIt()
    {
        using var endpoint = new ToggleEndpoint();
        var secretFile = _work.File("secret");
        var options = Options($"printf %s \"$TRADESTORE_GUARD_PROBE_TOKEN\" > '{secretFile}'; while :; do sleep 0.05; done", endpoint.Url);
        using var supervisor = new Supervisor(options, NullLogger.Instance);
        endpoint.AnswerAs = () => supervisor.Status.ChildPid;
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => supervisor.Status.State == GuardStates.Running);

        var secret = await File.ReadAllTextAsync(secretFile, TestContext.Current.CancellationToken);
        Assert.Equal(32, secret.Length);
        Assert.Equal(secret, endpoint.LastProbeSecret);
        supervisor.RequestStop(PosixSignals.SigTerm);
        Assert.Equal(GuardOutcome.Stopped, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
    }

    /// <summary>Stopped while backing off, the guard says so: it once logged "the child stopped gracefully" with no child running.</summary>
    [Fact]
    public async Task Run_StopDuringBackoff_StopsAtOnceSayingNoChildWasRunning()
    {
        var options = Options("exit 1") with { BackoffMin = TimeSpan.FromMinutes(5), BackoffMax = TimeSpan.FromMinutes(5) };
        var logger = new FakeLogger();
        using var supervisor = new Supervisor(options, logger);
        var run = supervisor.RunAsync(TestContext.Current.CancellationToken);
        await Eventually.TrueAsync(() => supervisor.Status.State == GuardStates.BackingOff);

        supervisor.RequestStop(PosixSignals.SigInt);

        Assert.Equal(GuardOutcome.StoppedWhileWaiting, await run.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        var stopped = Assert.Single(logger.Messages(5013));
        Assert.Contains("no child was running", stopped, StringComparison.Ordinal);
        Assert.DoesNotContain("stopped gracefully", stopped, StringComparison.Ordinal);
        Assert.Null(supervisor.Status.ChildPid);
    }

    /// <summary>
    /// A real HTTP liveness endpoint whose answer the test switches between 200 and 503, naming the pid
    /// <see cref="AnswerAs"/> gives as <c>serve</c> names its own to the guard's probe (none when it gives none).
    /// </summary>
    private sealed class ToggleEndpoint : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Task _loop;

        public ToggleEndpoint()
        {
            var port = FreePort.Next();
            Url = new Uri($"http://127.0.0.1:{port}/health/live");
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _loop = Task.Run(ServeAsync);
        }

        public Uri Url { get; }

        public volatile bool Healthy = true;

        public Func<int?> AnswerAs { get; set; } = () => null;

        /// <summary>The guard's secret the last probe carried.</summary>
        public string? LastProbeSecret { get; private set; }

        public void Dispose()
        {
            _listener.Close();
            _ = _loop.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                LastProbeSecret = context.Request.Headers[TradeStore.Core.Lifetime.GuardEnvironment.ProbeHeader];
                if (AnswerAs() is { } pid)
                {
                    context.Response.Headers[TradeStore.Core.Lifetime.GuardEnvironment.PidHeader] = pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                context.Response.StatusCode = Healthy ? 200 : 503;
                context.Response.Close();
            }
        }
    }
}
