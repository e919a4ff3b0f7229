using System.Diagnostics;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests.Deploy;

/// <summary>
/// deploy/prometheus with the real <c>promtool</c>: the alert rules load, their unit tests (alerts.test.yml) pass, and both
/// Prometheus configurations are valid as shipped (a full check, so a file they reference, such as a credentials file, must exist). Which metric names the rules may use: <c>GrafanaDashboardTests</c>.
/// </summary>
public sealed class PrometheusRulesTests
{
    private static string Folder => Path.Combine(TradeStoreProcess.RepositoryRoot, "deploy", "prometheus");

    [Fact]
    public async Task Alerts_RulesLoadAndTheirUnitTestsPass()
    {
        var (check, checkOutput) = await PromtoolAsync("check", "rules", "alerts.yml");
        var (test, testOutput) = await PromtoolAsync("test", "rules", "alerts.test.yml");

        Assert.True(check == 0, checkOutput);
        Assert.Contains("SUCCESS", checkOutput, StringComparison.Ordinal);
        Assert.True(test == 0, testOutput);
        Assert.Contains("SUCCESS", testOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prometheus.yml")]
    [InlineData("prometheus-ha.yml")]
    public async Task Config_Valid(string file)
    {
        var (code, output) = await PromtoolAsync("check", "config", file);

        Assert.True(code == 0, output);
    }

    private static async Task<(int ExitCode, string Output)> PromtoolAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(TestServers.Promtool) { WorkingDirectory = Folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }
}
