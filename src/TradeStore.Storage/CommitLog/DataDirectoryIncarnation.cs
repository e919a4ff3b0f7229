using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// The identity of one data directory (issue #14, the cluster's "incarnation"): a random id created once, with the
/// directory, in the file <see cref="FileName"/> next to the journal log, fsynced before it is used, and never changed.
/// A node started on an empty directory (a replaced disk) gets a new id, so etcd can tell it from the directory that
/// held the acknowledged writes under the same <c>Cluster:Node</c>.
/// </summary>
/// <param name="Id">32 lowercase hex digits (128 random bits).</param>
/// <param name="Adopted">
/// The file was created for a directory that already held a journal log: one from a version before identities
/// existed, which may be the very directory a sync record of that version names (see <c>SyncRecord.Holds</c>).
/// <see langword="false"/> for a directory that started empty.
/// </param>
public sealed record DataDirectoryIncarnation(string Id, bool Adopted)
{
    /// <summary>The file's name, in the directory of the DuckDB file, beside the <c>journal</c> folder.</summary>
    public const string FileName = "incarnation";

    /// <summary>
    /// Reads the identity of the directory of <paramref name="databasePath"/>, creating it first when absent: call it
    /// before the journal log is opened (which creates the <c>journal</c> folder), so <see cref="Adopted"/> is right.
    /// </summary>
    /// <exception cref="InvalidDataException">The file exists but is not an identity this code wrote.</exception>
    public static DataDirectoryIncarnation LoadOrCreate(string databasePath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(databasePath))!;
        var path = Path.Combine(directory, FileName);
        if (File.Exists(path))
        {
            return Parse(path, File.ReadAllBytes(path));
        }

        var created = new DataDirectoryIncarnation(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)), Directory.Exists(JournalLog.DirectoryFor(databasePath)));
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var json = new Utf8JsonWriter(file))
            {
                json.WriteStartObject();
                json.WriteString("incarnation", created.Id);
                json.WriteBoolean("adopted", created.Adopted);
                json.WriteString("created", DateTimeOffset.UtcNow);
                json.WriteEndObject();
            }

            file.Write("\n"u8);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path);
        NativeSync.SyncDirectory(directory);
        return created;
    }

    private static DataDirectoryIncarnation Parse(string path, byte[] content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            var id = document.RootElement.GetProperty("incarnation").GetString();
            if (id is { Length: 32 } && id.All(char.IsAsciiHexDigitLower))
            {
                return new DataDirectoryIncarnation(id, document.RootElement.GetProperty("adopted").GetBoolean());
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw Invalid(path, content, ex);
        }

        throw Invalid(path, content, null);
    }

    private static InvalidDataException Invalid(string path, byte[] content, Exception? inner) => new(
        $"{path} is not a data directory identity ({Encoding.UTF8.GetString(content, 0, Math.Min(content.Length, 120)).Trim()}). " +
        "Delete it to give the directory a new identity: in a cluster the node then counts as a new disk and may lead only after it caught up.", inner);
}
