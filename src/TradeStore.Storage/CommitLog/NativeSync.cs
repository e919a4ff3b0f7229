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

    /// <summary>
    /// Bytes an unprivileged process may still allocate on the filesystem of <paramref name="handle"/>
    /// (<c>fstatvfs(3)</c>: <c>f_bavail × f_frsize</c>), or <see langword="null"/> when unknown (not Linux, or the call failed).
    /// </summary>
    public static long? AvailableBytes(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            return null;
        }

        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return FStatVfs(handle.DangerousGetHandle().ToInt32(), out var stats) == 0 ? (long)Math.Min(stats.AvailableBlocks * stats.FragmentSize, long.MaxValue) : null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// How many names the file of <paramref name="handle"/> has (<c>fstat(2)</c>'s <c>st_nlink</c>): 0 once it was deleted
    /// (or its folder removed) while still open. <see langword="null"/> when unknown (not Linux on x64 or arm64, or the
    /// call failed).
    /// </summary>
    public static long? LinkCount(SafeFileHandle handle)
    {
        // struct stat of 64-bit glibc: st_dev, st_ino, then st_nlink as 8 bytes on x64; st_mode, then st_nlink as 4 on arm64.
        var (offset, wide) = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => (16, true),
            Architecture.Arm64 => (20, false),
            _ => (-1, false),
        };
        if (!OperatingSystem.IsLinux() || offset < 0)
        {
            return null;
        }

        Span<byte> stat = stackalloc byte[256];
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (FStat(handle.DangerousGetHandle().ToInt32(), ref MemoryMarshal.GetReference(stat)) != 0)
            {
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            // glibc before 2.33 exports fstat only as __fxstat.
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return wide ? (long)BitConverter.ToUInt64(stat[offset..]) : BitConverter.ToUInt32(stat[offset..]);
    }

    /// <summary>The same for the filesystem holding <paramref name="path"/> (a folder, for one).</summary>
    public static long? AvailableBytes(string path)
    {
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess)
        {
            return null;
        }

        return PathStatVfs(path, out var stats) == 0 ? (long)Math.Min(stats.AvailableBlocks * stats.FragmentSize, long.MaxValue) : null;
    }

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int PathStatVfs(string path, out StatVfs stats);

    [LibraryImport("libc", EntryPoint = "fstatvfs", SetLastError = true)]
    private static partial int FStatVfs(int fd, out StatVfs stats);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int FStat(int fd, ref byte stat);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int FDataSync(int fd);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int FSync(int fd);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary><c>struct statvfs</c> of 64-bit glibc: eleven 8-byte fields, then six reserved ints.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct StatVfs
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong FreeBlocks;
        public ulong AvailableBlocks;
        public ulong Files;
        public ulong FreeFiles;
        public ulong AvailableFiles;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong MaxNameLength;
        public int Spare0;
        public int Spare1;
        public int Spare2;
        public int Spare3;
        public int Spare4;
        public int Spare5;
    }
}
