using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TradeStore.Server.Lifetime;

/// <summary>
/// The host's lifetime in place of .NET's <c>ConsoleLifetime</c>: SIGTERM, SIGINT (Ctrl-C), SIGQUIT and SIGHUP stop the
/// application gracefully, as there, except that a signal that arrives while the host is still starting is held until it
/// has started. <c>ConsoleLifetime</c> stopped the application at once, which cancels the start: Kestrel's bind threw
/// <see cref="TaskCanceledException"/> out of the host's start and <c>serve</c> died with SIGABRT (exit 134) and a stack
/// trace. Held, the stop is the ordinary one: the engine drains and checkpoints, the sinks flush, and <c>serve</c> exits 0.
/// </summary>
/// <remarks>
/// By design held rather than cancelled: what the host's start does once this lifetime listens (start the engine, which
/// loads the state index, and bind the listeners) is short and not cancellable anyway. The long parts of start-up (opening
/// DuckDB, the journal replay, the integrity check) run before the host starts, where a signal still ends the process
/// as the runtime does by default (exit 143, which the guard counts as a clean stop, and the journal log holds every
/// acknowledged write).
/// </remarks>
internal sealed class SignalLifetime(IHostApplicationLifetime lifetime, ILogger<SignalLifetime> logger) : IHostLifetime, IDisposable
{
    // SIGHUP too (a closed terminal, or a `kill -HUP` meant as a reload, which serve has none of): by default the runtime
    // ended serve at once (exit 129) without a line, a drain or a checkpoint. Ignored (nohup) it stays ignored.
    private static readonly PosixSignal[] StopSignals = [PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT, PosixSignal.SIGHUP];

    private readonly Lock _gate = new();
    private PosixSignalRegistration[] _registrations = [];
    private bool _started;
    private PosixSignal? _held;

    /// <summary>Called by the host first thing in its start, before any hosted service starts (where <c>ConsoleLifetime</c> listens too).</summary>
    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(OnStarted);
        _registrations = [.. StopSignals.Select(signal => PosixSignalRegistration.Create(signal, OnSignal))];
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        // The process outlives the signal: it ends when the host has stopped and serve returns its exit code.
        context.Cancel = true;
        lock (_gate)
        {
            if (!_started)
            {
                if (_held is null)
                {
                    _held = context.Signal;
                    Log.StopHeldWhileStarting(logger, context.Signal.ToString());
                }

                return;
            }
        }

        Log.StopSignalled(logger, context.Signal.ToString());
        lifetime.StopApplication();
    }

    private void OnStarted()
    {
        PosixSignal? held;
        lock (_gate)
        {
            _started = true;
            held = _held;
        }

        if (held is not null)
        {
            // Off the host's "started" notification, so its other callbacks (the start-up log line) run first.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                Log.StopSignalled(logger, held.Value.ToString());
                lifetime.StopApplication();
            });
        }
    }
}
