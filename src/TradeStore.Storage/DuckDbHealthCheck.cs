using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TradeStore.Core.Threading;

namespace TradeStore.Storage;

/// <summary>
/// Readiness of the system of record: the database answers a query, and commits succeed. While the write engine's
/// commits fail (<see cref="StorageWriteHealth"/>: a full disk, an I/O error) it is unhealthy with the cause. By design
/// it then probes with a tiny commit of its own, so readiness comes back by itself when the disk takes writes again,
/// even when no client writes while the service is out of rotation. A database DuckDB invalidated after a FATAL error
/// never comes back in the process: the check reports it (<see cref="StorageWriteHealth.ReportIfInvalidated"/>), which
/// stops the write engine and the server, and stays unhealthy until then. While applies of the journal log into DuckDB
/// fail and are retried (<see cref="StorageWriteHealth.ApplyFailure"/>) it is degraded: writes are still acknowledged.
/// </summary>
public sealed class DuckDbHealthCheck(DuckDbDatabase database, ILogger<DuckDbHealthCheck>? logger = null) : IHealthCheck
{
    /// <summary>A commit that changes nothing visible: the <c>trade_state</c> checkpoint row (migration 0002) keeps its values.</summary>
    private const string ProbeSql = "UPDATE sync_checkpoints SET updated_at = updated_at WHERE sink = 'trade_state'";

    /// <summary>Size of the scratch file the probe writes: room for several full batches.</summary>
    private const int ProbeBytes = 1024 * 1024;

    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // DuckDB may keep the probe waiting behind a checkpoint: not on the socket event thread the request arrived on.
        await SocketEventThreads.LeaveAsync();
        try
        {
            using var connection = database.OpenConnection();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            command.ExecuteScalar();
        }
        catch (Exception ex)
        {
            if (database.WriteHealth.ReportIfInvalidated(ex))
            {
                return Invalidated(context, ex);
            }

            return new HealthCheckResult(context.Registration.FailureStatus, $"DuckDB at {database.Path} does not answer: {ex.Message}", ex);
        }

        if (database.WriteHealth.Invalidated is { } invalidated)
        {
            return Invalidated(context, invalidated);
        }

        if (database.WriteHealth.WritesRefused is { } refused)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"writes are refused: {refused}");
        }

        if (database.WriteHealth.Failure is { } failure && !ProbeCommits())
        {
            return new HealthCheckResult(context.Registration.FailureStatus,
                $"commits to {database.Path} fail since {failure.Since:yyyy-MM-ddTHH:mm:ssZ} ({failure.FailedBatches} batches refused as storage-failure): {failure.Cause}");
        }

        if (database.WriteHealth.ApplyFailure is { } apply)
        {
            // Degraded, not unhealthy: every write is still acknowledged durably and reads of trades and positions are exact.
            return HealthCheckResult.Degraded(
                $"DuckDB trails the journal log: applying seq {apply.FirstSeq}..{apply.LastSeq} fails since {apply.Since:yyyy-MM-ddTHH:mm:ssZ} " +
                $"({apply.Attempts} attempts, retried): {apply.Cause}. Acknowledged writes are durable in the journal log; POST /v1/query and trade history wait for DuckDB");
        }

        return HealthCheckResult.Healthy(database.Path);
    }

    private HealthCheckResult Invalidated(HealthCheckContext context, Exception ex) =>
        new(context.Registration.FailureStatus,
            $"DuckDB at {database.Path} failed for good and the server stops to reopen it (the journal log holds every acknowledged write; the restart replays it): {DuckDbInvalidatedException.FatalErrorIn(ex)?.Message.Trim() ?? ex.Message}", ex);

    /// <summary>
    /// Whether writes succeed now: a scratch file of <see cref="ProbeBytes"/> beside the database (a commit's few bytes
    /// can fit in the slack of the WAL's last block while the disk is still full), then a commit. A success ends the run.
    /// </summary>
    private bool ProbeCommits()
    {
        var scratch = database.Path + ".write-probe";
        try
        {
            using (var file = new FileStream(scratch, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.WriteThrough))
            {
                var block = new byte[64 * 1024];
                for (var written = 0; written < ProbeBytes; written += block.Length)
                {
                    file.Write(block);
                }

                file.Flush(flushToDisk: true);
            }

            using var connection = database.OpenConnection();
            using var transaction = connection.BeginTransaction();
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = ProbeSql;
            command.ExecuteNonQuery();
            transaction.Commit();
        }
        catch (Exception ex) when (ex is DuckDB.NET.Data.DuckDBException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            database.WriteHealth.ReportIfInvalidated(ex);
            return false;
        }
        finally
        {
            TryDelete(scratch);
        }

        database.WriteHealth.Recovered(_logger);
        return true;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing to clean up, or the next probe replaces it.
        }
    }
}
