using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// The one poll helper of the suite: waits for a condition with a deadline instead of sleeping a fixed time, and
/// fails the test with a description of what was last seen when the deadline passes.
/// </summary>
public static class Eventually
{
    /// <summary>How long a condition may take when the test names no timeout: generous, the machine is shared.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>Polls <paramref name="condition"/> until it holds; fails the test after <paramref name="timeout"/>.</summary>
    /// <param name="describe">What was seen instead, for the failure message.</param>
    public static async Task TrueAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? describe = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Not reached within {limit}: {describe?.Invoke() ?? "the condition stayed false"}");
            }

            await Task.Delay(Interval, TestContext.Current.CancellationToken);
        }
    }

    /// <inheritdoc cref="TrueAsync(Func{Task{bool}}, TimeSpan?, Func{string}?)"/>
    public static Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, Func<string>? describe = null) =>
        TrueAsync(() => Task.FromResult(condition()), timeout, describe);
}
