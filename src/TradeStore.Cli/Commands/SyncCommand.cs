using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using TradeStore.ClickHouse.Rows;
using TradeStore.ClickHouse.Sync;
using TradeStore.Core.Migrations;
using TradeStore.Server.Configuration;
using TradeStore.Storage;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;
using TradeStore.Storage.Sync;

namespace TradeStore.Cli.Commands;

/// <summary>
/// <c>tradestore sync status</c>: where the ClickHouse sync stands. Reads the checkpoint and journal from DuckDB when
/// the database is free, otherwise (a server holds it) from the status file the running daemon keeps beside it,
/// and asks ClickHouse for its <c>max(seq)</c>.
/// </summary>
public static class SyncCommand
{
    public static Command Create()
    {
        var status = new Command("status",
            "Show the ClickHouse sync: checkpoint, ClickHouse max(seq), events behind, lag, and the last error with its time. " +
            "Exit 1 when the sync is failing or ClickHouse does not answer; exit 2 when the data directory does not exist.");
        status.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            if (ClickHouseCommandSupport.RequireClickHouse(parseResult) is not { } settings)
            {
                return ExitCodes.BadInput;
            }

            var databasePath = settings.Storage.DatabasePath;
            if (Path.GetDirectoryName(Path.GetFullPath(databasePath)) is { } dataDirectory && !Directory.Exists(dataDirectory))
            {
                // As verify and recover refuse it: a data directory that does not exist is a typo in --data, not a node
                // without a database yet (a directory without tradestore.duckdb still shows "(no database file)").
                throw new ConfigurationException($"Storage:DataDirectory: there is no directory {dataDirectory} (check --data).");
            }

            var statusPath = SyncStatusFile.PathFor(databasePath);
            SyncStatus? daemon = null;
            try
            {
                daemon = SyncStatusFile.Read(statusPath);
            }
            catch (JsonException ex)
            {
                error.WriteLine($"tradestore: ignoring {statusPath}: {ex.Message}");
            }

            var client = ClickHouseCommandSupport.Client(settings);
            long? clickHouseMax = null;
            string? clickHouseError = null;
            try
            {
                var rows = await client.QueryRowsAsync("SELECT max(seq) AS max_seq FROM trade_events", cancellationToken, client.Database);
                clickHouseMax = rows.Count == 0 ? 0 : ClickHouseJson.Int64(rows[0], "max_seq");
            }
            catch (Exception ex) when (ClickHouseCommandSupport.IsClickHouseFailure(ex))
            {
                clickHouseError = SyncFailures.Describe(ex, client.BaseUri, client.Database);
            }

            var local = ReadDatabase(databasePath, clickHouseMax, out var databaseNote);
            var now = DateTimeOffset.UtcNow;
            var checkpoint = local?.Checkpoint ?? daemon?.Checkpoint;
            var journalLast = local?.JournalLastSeq ?? daemon?.JournalLastSeq;
            var synced = Math.Max(clickHouseMax ?? 0, checkpoint ?? 0);
            var behind = journalLast is { } last ? Math.Max(0, last - synced) : (long?)null;
            double? lag = null;
            if (local is not null)
            {
                lag = behind is > 0 && local.OldestUnsynced is { } oldest ? Math.Max(0, (now - oldest).TotalSeconds) : 0;
            }
            else if (daemon is not null)
            {
                lag = daemon.LagSeconds;
            }

            output.WriteLine($"sink              clickhouse: {client.BaseUri.GetLeftPart(UriPartial.Authority)} database {client.Database}");
            output.WriteLine($"database          {databasePath}{(databaseNote is null ? "" : $" ({databaseNote})")}");
            output.WriteLine($"checkpoint        {Show(checkpoint)}{(local is null && daemon is not null ? $" (from the daemon's status at {daemon.UpdatedAt:O}{DaemonCheckpointNote(daemon)})" : "")}");
            output.WriteLine($"journal last seq  {Show(journalLast)}");
            output.WriteLine($"clickhouse max    {(clickHouseMax is { } max ? max.ToString(CultureInfo.InvariantCulture) : $"unknown: {clickHouseError}")}");
            output.WriteLine($"events behind     {Show(behind)}");
            output.WriteLine($"lag               {(lag is { } l ? string.Create(CultureInfo.InvariantCulture, $"{l:0.000} s") : "unknown")}");
            if (local is not null)
            {
                // Not a sink: the table trade_state is flushed behind the journal inside DuckDB; reads are exact regardless.
                output.WriteLine($"trade_state       {local.TradeStateCheckpoint} ({Math.Max(0, local.JournalLastSeq - local.TradeStateCheckpoint)} events behind the journal; flushed in the background)");
            }

            if (daemon is null)
            {
                output.WriteLine("daemon            no status file yet (the sync has not run with this data directory)");
            }
            else
            {
                output.WriteLine($"daemon            {(daemon.Running ? "running" : "stopped")} (PID {daemon.ProcessId}, status written {daemon.UpdatedAt:O}), batch size {daemon.BatchSize}" +
                                 (daemon.LastSyncAt is { } at ? $", last sync {at:O}" : ""));
                output.WriteLine(daemon.LastError is null
                    ? "last error        none"
                    : $"last error        {daemon.LastErrorAt:O} [{daemon.LastErrorKind}] {daemon.LastError}");
                if (daemon.Failing)
                {
                    output.WriteLine($"state             FAILING since {daemon.FailingSince:O}: {daemon.ConsecutiveFailures} attempts, {NextRetry(daemon, DateTimeOffset.UtcNow)}");
                }
            }

            return clickHouseError is not null || daemon is { Failing: true } ? ExitCodes.Failure : ExitCodes.Success;
        });

        return new Command("sync", "Inspect the ClickHouse sync.") { status };
    }

    /// <summary>
    /// While ClickHouse has not answered since the daemon started, its checkpoint is DuckDB's copy (the last seq known
    /// to be in ClickHouse), and its journal end the one it read at start and from the commits since.
    /// </summary>
    private static string DaemonCheckpointNote(SyncStatus daemon) => daemon.CheckpointSource == SyncStatus.FromDuckDb
        ? "; DuckDB's copy of the checkpoint: the daemon has not read ClickHouse since it started"
        : "";

    /// <summary>
    /// When the failing daemon tries again, counted from now: the status file can be seconds old, so a delay read from it
    /// ("next retry after 0.3 s") was already over when it was shown.
    /// </summary>
    internal static string NextRetry(SyncStatus daemon, DateTimeOffset now)
    {
        if (!daemon.Running)
        {
            return "no further retry: the daemon stopped";
        }

        if (daemon.NextRetryAt is not { } next)
        {
            return "next retry time unknown";
        }

        var seconds = (next - now).TotalSeconds;
        return string.Create(CultureInfo.InvariantCulture,
            $"next retry at {next:O} ({(seconds >= 0 ? $"in {seconds:0.0} s" : $"due {-seconds:0.0} s ago; the daemon has not written its status since")})");
    }

    private static string Show(long? value) => value is { } v ? v.ToString(CultureInfo.InvariantCulture) : "unknown";

    private static LocalFigures? ReadDatabase(string path, long? clickHouseMax, out string? note)
    {
        note = null;
        if (!DatabaseFiles.Exists(path))
        {
            note = "no database file";
            return null;
        }

        try
        {
            using var database = DuckDbDatabase.Open(path);
            // Below this binary's schema the tables read here may not exist: one line, as verify says it, not DuckDB's error.
            DuckDbSchema.RequireLatest(database, PendingMigrationAdvice.ReadOnlyCommand("sync status"));
            var journal = new JournalReader(database);
            var checkpoint = new SyncCheckpoints(database).Get(SyncCheckpoints.ClickHouse);
            var last = journal.LastSeq();
            var synced = Math.Max(checkpoint, clickHouseMax ?? 0);
            var next = last > synced ? journal.ReadAfter(synced, 1) : [];
            return new LocalFigures(checkpoint, last, next.Count > 0 ? next[0].RecordedAt : null, new SyncCheckpoints(database).Get(SyncCheckpoints.TradeState));
        }
        catch (DatabaseLockedException ex)
        {
            note = ex.HolderPid is { } pid ? $"in use by PID {pid}; figures from the daemon's status file" : "in use by another process; figures from the daemon's status file";
            return null;
        }
    }

    private sealed record LocalFigures(long Checkpoint, long JournalLastSeq, DateTimeOffset? OldestUnsynced, long TradeStateCheckpoint);
}
