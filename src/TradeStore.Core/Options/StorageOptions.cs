using System.ComponentModel.DataAnnotations;

namespace TradeStore.Core.Options;

/// <summary>Where and how the embedded DuckDB database is kept (section <c>Storage</c>).</summary>
public sealed class StorageOptions
{
    public const string SectionName = "Storage";

    /// <summary>The file name of the database inside <see cref="DataDirectory"/>.</summary>
    public const string DatabaseFileName = "tradestore.duckdb";

    /// <summary>Directory that holds <c>tradestore.duckdb</c>; created when absent.</summary>
    /// <value>Default <c>./data</c>, relative to the working directory.</value>
    [Required(AllowEmptyStrings = false, ErrorMessage = "must name a directory.")]
    public string DataDirectory { get; set; } = "./data";

    /// <summary>Whether <c>serve</c> applies pending schema migrations at start-up.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool AutoMigrate { get; set; } = true;

    /// <summary>Whether <c>serve</c> checks journal and state agreement before it accepts writes, and refuses to start on a problem.</summary>
    /// <value>Default <see langword="true"/>.</value>
    public bool VerifyOnStart { get; set; } = true;

    /// <summary>The full path of the database file.</summary>
    public string DatabasePath => Path.GetFullPath(Path.Combine(DataDirectory, DatabaseFileName));
}
