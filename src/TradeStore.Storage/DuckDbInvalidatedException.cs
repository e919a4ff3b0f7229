using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace TradeStore.Storage;

/// <summary>
/// DuckDB met a FATAL error and invalidated the database instance: every later statement in this process fails with
/// "database has been invalidated because of a previous fatal error", and DuckDB's rule is that the database must be
/// reopened, i.e. the process restarted. A checkpoint that cannot write for lack of disk space does this ("Failed to create
/// checkpoint … No space left on device"). Nothing acknowledged is lost with it: the journal log holds every acknowledged
/// event and a start replays into DuckDB what it lacks.
/// </summary>
public sealed class DuckDbInvalidatedException : Exception
{
    public DuckDbInvalidatedException(DuckDBException duckDbError)
        : base($"DuckDB invalidated the database after a fatal error and cannot be used again in this process (it must be reopened): {duckDbError.Message.Trim()}", duckDbError)
    {
        DuckDbMessage = duckDbError.Message.Trim();
    }

    /// <summary>DuckDB's own message (for a full disk: "… Failed to create checkpoint … No space left on device").</summary>
    public string DuckDbMessage { get; }

    /// <summary>
    /// The DuckDB error in <paramref name="exception"/> (itself or an inner one) when it is FATAL, else <see langword="null"/>.
    /// DuckDB.NET sets <see cref="DuckDBException.ErrorType"/> only for an error of a statement's execution; an error at
    /// prepare time or from the Appender carries no type (<see cref="DuckDBErrorType.Invalid"/>), so for those DuckDB's text
    /// decides: it starts with "FATAL Error" or says "database has been invalidated".
    /// </summary>
    public static DuckDBException? FatalErrorIn(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DuckDBException duckDb &&
                (duckDb.ErrorType == DuckDBErrorType.Fatal || (duckDb.ErrorType == DuckDBErrorType.Invalid && SaysFatal(duckDb.Message))))
            {
                return duckDb;
            }
        }

        return null;
    }

    /// <summary>Whether <paramref name="exception"/> is (or wraps) DuckDB's FATAL error (<see cref="FatalErrorIn"/>).</summary>
    public static bool IsFatal(Exception? exception) => FatalErrorIn(exception) is not null;

    private static bool SaysFatal(string message) =>
        message.TrimStart().StartsWith("FATAL Error", StringComparison.Ordinal) ||
        message.Contains("database has been invalidated", StringComparison.Ordinal);
}
