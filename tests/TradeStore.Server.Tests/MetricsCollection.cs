namespace TradeStore.Server.Tests;

/// <summary>
/// Tests that read one host's <c>/metrics</c> run alone. Beside the authorization and dashboard tests, which start
/// hosts of their own, <c>Metrics_DependencyHealth_PublishedAsGauge</c> waited 30 s in vain in 3 of 7 runs (on this
/// session's code and on the code before it); alone in this collection, in none of 4. The likely cause: a
/// <see cref="System.Diagnostics.Metrics.MeterListener"/> hears every meter of the process, whichever host created it,
/// so another host's instruments of the same names reach this host's export.
/// </summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;
