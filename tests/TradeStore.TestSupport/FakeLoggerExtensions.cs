using Microsoft.Extensions.Logging.Testing;

namespace TradeStore.TestSupport;

/// <summary>What an operator would read in the log, by the stable event id TradeStore logs it under.</summary>
public static class FakeLoggerExtensions
{
    /// <summary>The formatted messages logged so far with <paramref name="eventId"/>, oldest first.</summary>
    public static IEnumerable<string> Messages(this FakeLogger logger, int eventId) =>
        logger.Collector.GetSnapshot().Where(record => record.Id.Id == eventId).Select(record => record.Message);

    /// <summary>The formatted messages the whole collector (every logger of a host) holds with <paramref name="eventId"/>.</summary>
    public static IEnumerable<string> Messages(this FakeLogCollector collector, int eventId) =>
        collector.GetSnapshot().Where(record => record.Id.Id == eventId).Select(record => record.Message);
}
