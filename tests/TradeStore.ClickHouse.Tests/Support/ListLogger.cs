using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace TradeStore.ClickHouse.Tests.Support;

/// <summary>Keeps every log entry (event id, level, formatted text) so a test can assert what an operator would read.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<(EventId Id, LogLevel Level, string Text)> _entries = new();

    public IReadOnlyList<(EventId Id, LogLevel Level, string Text)> Entries => [.. _entries];

    public IEnumerable<string> Texts(int eventId) => _entries.Where(e => e.Id.Id == eventId).Select(e => e.Text);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((eventId, logLevel, formatter(state, exception)));
}
