namespace TradeStore.Core.Security;

/// <summary>
/// Creates the directories that hold trade data (the data directory, <c>journal/</c>, <c>wal-backups/</c>, a
/// <c>damaged-…</c> folder) readable by their owner only: DuckDB and the journal log create their files with the
/// process's umask (0644 with the usual 022), so in a directory created 0755 every local account could read every trade
/// of every account, past API keys and account scopes. A directory that exists already keeps its mode: the operator's
/// (systemd's <c>StateDirectoryMode=0750</c>, a volume's) is deliberate.
/// </summary>
public static class PrivateDirectory
{
    /// <summary>The mode of a directory this process creates: <c>0700</c>.</summary>
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates <paramref name="path"/> and any missing parent, each with <see cref="Mode"/> (on Windows, with its defaults).</summary>
    public static void Create(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }

        // Directory.CreateDirectory(path, mode) gives the mode to the last directory only; each missing parent gets it too.
        var missing = new Stack<string>();
        for (var directory = Path.GetFullPath(path); !Directory.Exists(directory); directory = Path.GetDirectoryName(directory)!)
        {
            missing.Push(directory);
        }

        while (missing.TryPop(out var directory))
        {
            Directory.CreateDirectory(directory, Mode);
        }
    }
}
