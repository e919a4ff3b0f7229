using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TradeStore.Storage.CommitLog;

/// <summary>
/// <c>fdatasync(2)</c> for a log segment and <c>fsync(2)</c> of a directory, which .NET does not expose. By design
/// fdatasync rather than <see cref="RandomAccess.FlushToDisk"/>-style fsync: the data and the file size reach the disk
/// either way, but fdatasync skips the timestamps, one journal write less per group commit. Elsewhere than Linux
/// (development machines) it falls back to <see cref="FileStream.Flush(bool)"/> semantics through fsync.
/// </summary>
internal static partial class NativeSync
{
    private const int ReadOnly = 0;

    /// <summary>Makes the data written to <paramref name="handle"/> durable.</summary>
    /// <exception cref="IOException">The kernel reported a write-back error: the data may not be on disk.</exception>
    public static void DataSync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (FDataSync(handle.DangerousGetHandle().ToInt32()) != 0)
            {
                throw new IOException($"fdatasync failed: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>Makes the entries of <paramref name="directory"/> (a file created, renamed or deleted in it) durable.</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
        }

        try
        {
            if (FSync(fd) != 0)
            {
                throw new IOException($"fsync of directory {directory} failed: {Marshal.GetLastPInvokeErrorMessage()}", Marshal.GetLastPInvokeError());
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
