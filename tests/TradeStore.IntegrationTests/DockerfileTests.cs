using System.Diagnostics;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// The Dockerfile builds: <c>scripts/check-dockerfile.sh</c> replays its build stage without a Docker daemon
/// (the .dockerignore'd context, the COPY and RUN lines) and checks the published folder and the image's command.
/// </summary>
public sealed class DockerfileTests
{
    [Fact]
    public async Task CheckDockerfile_BuildStageReplayed_PublishesTradestoreWithoutBenchAndRunsGuardServe()
    {
        var ct = TestContext.Current.CancellationToken;
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = TradeStoreProcess.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine("scripts", "check-dockerfile.sh"));
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("check-dockerfile: ok", output);
        Assert.Contains("no ScottPlot, HdrHistogram or tradestore-bench", output);
    }
}
