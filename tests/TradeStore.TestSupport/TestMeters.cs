using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace TradeStore.TestSupport;

/// <summary>
/// The host's own <see cref="IMeterFactory"/> (<c>AddMetrics</c>) for parts a test builds without a host: each
/// instance is one container, so its meters are apart from every other test's and end when it is disposed.
/// </summary>
public sealed class TestMeters : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public IMeterFactory Factory => _services.GetRequiredService<IMeterFactory>();

    public void Dispose() => _services.Dispose();
}
