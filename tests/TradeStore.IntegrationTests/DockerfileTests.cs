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
        var (exitCode, output) = await RepositoryScript.RunAsync(
            "check-dockerfile.sh", [], [], TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, output);
        Assert.Contains("check-dockerfile: ok", output);
        Assert.Contains("no ScottPlot, HdrHistogram or tradestore-bench", output);
    }
}
