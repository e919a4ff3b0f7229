using System.Globalization;
using TradeStore.Core.Migrations;

namespace TradeStore.Cli.Commands;

/// <summary>The table <c>migrate status</c> prints: one row per version, applied or pending.</summary>
internal static class StatusTable
{
    private const int ChecksumLength = 16;

    public static void Write(TextWriter output, MigrationStatus status)
    {
        output.WriteLine($"{status.Target}: schema version {status.CurrentVersion}; this binary knows up to {status.LatestKnownVersion}.");
        var rows = new List<string[]> { new[] { "version", "name", "state", "checksum", "applied at (UTC)", "duration" } };
        foreach (var entry in status.Entries)
        {
            var checksum = entry.State == MigrationState.Drifted
                ? $"{Short(entry.Applied!.Checksum)} (script {Short(entry.Known!.Checksum)})"
                : Short(entry.Applied?.Checksum ?? entry.Known!.Checksum);
            rows.Add(
            [
                entry.Version.ToString("D4", CultureInfo.InvariantCulture),
                entry.Name,
                entry.State switch
                {
                    MigrationState.Pending when entry.Version < status.CurrentVersion => "MISSING",
                    MigrationState.Drifted => "DRIFTED",
                    MigrationState.Unknown => "UNKNOWN (newer binary)",
                    var state => state.ToString().ToLowerInvariant(),
                },
                checksum,
                entry.Applied?.AppliedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                entry.Applied is { } applied ? string.Create(CultureInfo.InvariantCulture, $"{applied.Duration.TotalMilliseconds:F1} ms") : "-",
            ]);
        }

        var widths = Enumerable.Range(0, rows[0].Length).Select(column => rows.Max(row => row[column].Length)).ToArray();
        foreach (var row in rows)
        {
            output.WriteLine("  " + string.Join("  ", row.Select((cell, column) => cell.PadRight(widths[column]))).TrimEnd());
        }

        if (status.Entries.Count == 0)
        {
            output.WriteLine("  (no migrations)");
        }

        if (status.IncompleteProblem is { } incomplete)
        {
            output.WriteLine($"  INCOMPLETE: {incomplete}");
        }
    }

    private static string Short(string checksum) => checksum.Length > ChecksumLength ? checksum[..ChecksumLength] : checksum;
}
