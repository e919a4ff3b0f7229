using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>One run of a real <c>tradestore serve</c> on a data directory: started, used, stopped with SIGTERM and checked to exit 0.</summary>
internal static class ServeSession
{
    private const int SigTerm = 15;

    /// <summary>Runs <paramref name="work"/> against the server's URL while it serves <paramref name="dataDirectory"/>.</summary>
    public static async Task RunAsync(string dataDirectory, Func<string, Task> work, IDictionary<string, string>? environment = null)
    {
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", dataDirectory, "--urls", url], dataDirectory, environment);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        await work(url);
        child.Signal(SigTerm);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
