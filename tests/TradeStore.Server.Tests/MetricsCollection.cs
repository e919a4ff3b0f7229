namespace TradeStore.Server.Tests;

/// <summary>
/// Tests that read one host's <c>/metrics</c> run alone. Several create meters of their own without a factory
/// (<c>new Meter("TradeStore.Tests")</c>), which every host of the process exports, as it does <c>System.Runtime</c>.
/// A host's own instruments no longer leak into another host's export: <c>MetricsEndpoint</c> drops instruments of
/// meters created by another host's <see cref="System.Diagnostics.Metrics.IMeterFactory"/>
/// (<c>MetricsEndpointTests.Metrics_TwoHostsInOneProcess_…</c>).
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;
