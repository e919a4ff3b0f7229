using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// A stop signal while <c>serve</c> prepares its start (DuckDB opened and migrated, the journal log replayed, the integrity
/// check), before <see cref="SignalLifetime"/> listens. The process still ends as the runtime ends it (exit 143 for SIGTERM,
/// which the guard counts as a clean stop): nothing there can be drained, and each part is safe to cut (DuckDB rolls back
/// what it had not committed, the log still holds it). But it ended without a line: at 3,644,736 trades that part of the
/// start took 40 s, and a <c>systemctl stop</c> in it left no word of why serve was gone or what it left. One line (event
/// 1013) now says which part the start was in and that the next start goes on from there.
/// </summary>
internal sealed class EarlyStopSignals : IDisposable
{
    private static readonly PosixSignal[] StopSignals = [PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP];

    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    private readonly PosixSignalRegistration[] _registrations;
    private volatile string _doing = "opening the database and its journal log";

    /// <param name="loggers">Start-up's logging: disposed by the signal, so the line is written before the process ends.</param>
    public EarlyStopSignals(ILoggerFactory loggers)
    {
        _loggers = loggers;
        _logger = loggers.CreateLogger(typeof(SignalLifetime));
        _registrations = [.. StopSignals.Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
    }

    /// <summary>What the start is doing now, for the line ("replaying the journal log into DuckDB").</summary>
    public string Doing
    {
        set => _doing = value;
    }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        // context.Cancel stays false: the runtime's default follows, the end of the process.
        Log.StoppedWhileStarting(_logger, context.Signal.ToString(), _doing);
        _loggers.Dispose(); // the console logger writes on its own thread: disposing it flushes the line
    }
}
