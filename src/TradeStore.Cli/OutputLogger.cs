using Microsoft.Extensions.Logging;

namespace TradeStore.Cli;

/// <summary>
/// An <see cref="ILogger"/> that writes each message (Information and above) as one line of a command's output after
/// <paramref name="prefix"/>: how an offline command shows the progress a library reports through a logger (the
/// integrity check's events 2038 and 2039 in <c>verify</c>). Lines are written whole, one writer at a time.
/// </summary>
internal sealed class OutputLogger(TextWriter output, string prefix) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (IsEnabled(logLevel))
        {
            var line = $"{prefix}{formatter(state, exception)}";
            lock (output)
            {
                output.WriteLine(line);
            }
        }
    }
}
