using System.Reflection;

namespace TradeStore.Storage.Migrations;

/// <summary>
/// Brings a database to the newest schema this binary knows. Interim entry point while the versioned
/// migration runner (issue 3) is built: it applies <c>0001_initial.up.sql</c> to an empty database.
/// </summary>
public static class DuckDbSchema
{
    public static void MigrateToLatest(DuckDbDatabase database)
    {
        using var connection = database.OpenConnection();
        using (var probe = connection.CreateCommand())
        {
            probe.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_name = 'trade_events'";
            if (Convert.ToInt64(probe.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0)
            {
                return;
            }
        }

        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = ReadScript("0001_initial.up.sql");
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    internal static string ReadScript(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"TradeStore.Storage.Migrations.{name}")
            ?? throw new InvalidOperationException($"Migration script {name} is not embedded.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
