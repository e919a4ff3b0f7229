using System.Security.Cryptography;
using System.Text;

namespace TradeStore.Core.Migrations;

/// <summary>
/// One versioned schema change: the script that applies it, the script that reverts it, and the SHA-256
/// checksum of the up script, which is recorded when it is applied so that a later edit is caught as drift.
/// </summary>
public sealed record Migration
{
    public Migration(int version, string name, string upSql, string downSql)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(upSql);
        ArgumentNullException.ThrowIfNull(downSql);
        Version = version;
        Name = name;
        UpSql = upSql;
        DownSql = downSql;
        Checksum = ComputeChecksum(upSql);
    }

    public int Version { get; }

    public string Name { get; }

    public string UpSql { get; }

    public string DownSql { get; }

    /// <summary>Lower-case hex SHA-256 of <see cref="UpSql"/> (line endings normalised to LF).</summary>
    public string Checksum { get; }

    /// <summary>The file stem, for example <c>0001_initial</c>.</summary>
    public string Id => FormatId(Version, Name);

    /// <summary>
    /// What reverting this migration loses, taken from the first <c>--</c> comment line of the down script
    /// (for example "Drops every trade, event and checkpoint."); shown before <c>migrate down</c> asks for <c>--yes</c>.
    /// </summary>
    public string DownDescription =>
        DownSql.Split('\n').Select(line => line.Trim()).FirstOrDefault(line => line.StartsWith("--", StringComparison.Ordinal)) is { } comment
            ? comment.TrimStart('-').Trim()
            : "(the down script carries no description comment)";

    public static string FormatId(int version, string name) => $"{version:D4}_{name}";

    /// <summary>
    /// By design line endings are normalised before hashing: a checkout that turns LF into CRLF (git autocrlf)
    /// changes no statement and must not be reported as drift.
    /// </summary>
    public static string ComputeChecksum(string script)
    {
        var normalised = script.Replace("\r\n", "\n", StringComparison.Ordinal);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalised)));
    }
}
