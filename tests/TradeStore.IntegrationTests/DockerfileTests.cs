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
        // As `docker build --build-arg SOURCE_REVISION=…`: the context has no .git, so the image's version named no commit.
        var (exitCode, output) = await RepositoryScript.RunAsync(
            "check-dockerfile.sh", [], [("SOURCE_REVISION", "0123abc")], TimeSpan.FromMinutes(10), TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, output);
        Assert.Contains("tradestore --version: 0.1.0+0123abc", output);
        Assert.Contains("check-dockerfile: ok", output);
        Assert.Contains("no ScottPlot, HdrHistogram or tradestore-bench", output);
    }
}
