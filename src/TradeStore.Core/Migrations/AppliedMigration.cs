namespace TradeStore.Core.Migrations;

/// <summary>A row of a store's <c>schema_migrations</c> table: a migration as it was recorded when applied.</summary>
public sealed record AppliedMigration(int Version, string Name, string Checksum, DateTimeOffset AppliedAt, TimeSpan Duration)
{
    public string Id => Migration.FormatId(Version, Name);
}
