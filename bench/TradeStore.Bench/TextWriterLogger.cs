using Microsoft.Extensions.Logging;

namespace TradeStore.Bench;

/// <summary>Writes every log entry (Debug and up) of one component to the benchmark's output, for <c>--verbose</c>.</summary>
internal sealed class TextWriterLogger<T>(TextWriter output) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (output)
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} [{eventId.Id}] {formatter(state, exception)}");
        }
    }
}
