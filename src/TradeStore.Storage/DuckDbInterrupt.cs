using DuckDB.NET.Data;

namespace TradeStore.Storage;

/// <summary>
/// Stops the statement running on a DuckDB connection once a token is cancelled: DuckDB blocks its calling thread for
/// the whole of a statement (tens of seconds for an integrity check step over millions of events), so a token checked
/// only between statements is seen late. <c>duckdb_interrupt</c> (DuckDB.NET's <c>DuckDBNativeConnection.Interrupt</c>,
/// also behind <see cref="DuckDBCommand.Cancel"/>) may be called from another thread and makes the statement fail.
/// </summary>
/// <remarks>
/// DuckDB forgets an interrupt that arrives while no statement runs (a statement starts by clearing it), so a
/// cancellation landing between two statements would be lost and the next one would run to its end. Once the token is
/// cancelled the connection is therefore interrupted again every <see cref="RepeatEvery"/> until this is disposed.
/// Dispose it before the connection: it waits for an interrupt under way, so none reaches a closed connection.
/// </remarks>
public sealed class DuckDbInterrupt : IDisposable
{
    /// <summary>How often a cancelled token interrupts the connection again.</summary>
    private static readonly TimeSpan RepeatEvery = TimeSpan.FromMilliseconds(50);

    private readonly Lock _gate = new();
    private readonly DuckDBConnection _connection;
    private readonly CancellationTokenRegistration _registration;
    private Timer? _repeating;
    private bool _disposed;

    /// <param name="connection">The open connection whose statements <paramref name="cancellationToken"/> stops.</param>
    /// <param name="cancellationToken">Interrupts the connection from the moment it is cancelled (at once when it already is).</param>
    public DuckDbInterrupt(DuckDBConnection connection, CancellationToken cancellationToken)
    {
        _connection = connection;
        _registration = cancellationToken.Register(Start);
    }

    /// <summary>
    /// Whether <paramref name="ex"/> is how DuckDB (or DuckDB.NET) reports a statement this interrupt stopped: DuckDB.NET
    /// throws a bare <see cref="OperationCanceledException"/> for an interrupted execution, a <see cref="DuckDBException"/>
    /// for one interrupted while its result is read.
    /// </summary>
    public static bool Stopped(Exception ex, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested && ex is DuckDBException or OperationCanceledException;

    public void Dispose()
    {
        _registration.Dispose(); // waits for a Start under way
        Timer? repeating;
        lock (_gate)
        {
            _disposed = true;
            repeating = _repeating;
        }

        repeating?.Dispose();
    }

    private void Start()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _repeating = new Timer(_ => Interrupt(), null, TimeSpan.Zero, RepeatEvery);
            }
        }
    }

    private void Interrupt()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _connection.NativeConnection.Interrupt();
            }
        }
    }
}
