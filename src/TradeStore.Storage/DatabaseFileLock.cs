using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TradeStore.Storage;

/// <summary>
/// DuckDB's own lock on a database file, taken without opening the database: an offline command that must not run beside
/// <c>serve</c> but cannot let DuckDB open the file (<c>recover --set-aside</c> moves a damaged file that DuckDB may fail
/// to open, and whose WAL it would replay) holds this for as long as it works on the data directory.
/// </summary>
/// <remarks>
/// By design the very lock DuckDB takes (measured with DuckDB 1.5.6 on Linux: <c>fcntl(F_SETLK)</c>, a write lock over the
/// whole file), so a running <c>serve</c> makes <see cref="Acquire"/> fail and, while this is held, a <c>serve</c> or
/// another offline command stops with exit 3. The lock belongs to the file, not its name: moved into a damaged-&lt;time&gt;
/// folder it stays on the moved file, and a database created in its place is locked by whoever opens it (the recovery's
/// own DuckDB). A POSIX record lock is released when its process closes any descriptor of the file, so nothing else in
/// this process may open the locked file meanwhile. Elsewhere than Linux (development machines) no lock is taken.
/// </remarks>
public sealed partial class DatabaseFileLock : IDisposable
{
    private const int SetLock = 6; // F_SETLK (Linux, every ABI .NET runs on)
    private const int GetLock = 5; // F_GETLK
    private const short WriteLock = 1; // F_WRLCK
    private const short Unlocked = 2; // F_UNLCK
    private const int WouldBlock = 11; // EAGAIN
    private const int AccessDenied = 13; // EACCES: what POSIX allows instead of EAGAIN

    private readonly SafeFileHandle? _handle;

    private DatabaseFileLock(SafeFileHandle? handle) => _handle = handle;

    /// <summary>
    /// Takes the write lock on <paramref name="databasePath"/>; without a file (nothing to protect: no process can be
    /// serving it) the returned lock holds nothing.
    /// </summary>
    /// <exception cref="DatabaseLockedException">Another process (a running <c>serve</c>) holds the file; its PID is named.</exception>
    /// <exception cref="DatabaseOpenException">The file cannot be opened for writing or locked (permissions, a read-only file system).</exception>
    public static DatabaseFileLock Acquire(string databasePath)
    {
        var path = Path.GetFullPath(databasePath);
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || !File.Exists(path))
        {
            return new DatabaseFileLock(null);
        }

        SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DatabaseOpenException.FileSystem(path, "lock", path, ex);
        }

        var request = new FileRegion { Type = WriteLock };
        if (Control(handle, SetLock, ref request) == 0)
        {
            return new DatabaseFileLock(handle);
        }

        var errno = Marshal.GetLastPInvokeError();
        using (handle)
        {
            if (errno is WouldBlock or AccessDenied)
            {
                throw LockedBy(handle, path, errno) ?? Locked(path, pid: null, errno);
            }
        }

        throw DatabaseOpenException.FileSystem(path, "lock", path, new IOException(Marshal.GetPInvokeErrorMessage(errno), errno));
    }

    /// <summary>
    /// The lock another process holds on <paramref name="databasePath"/>, found without taking it (<c>F_GETLK</c>), as the
    /// exception <see cref="Acquire"/> would throw; <see langword="null"/> when no other process holds it, or when that
    /// cannot be told (no file, not Linux, the file cannot be opened). For a start that failed before DuckDB could say the
    /// file was held (the copy of the WAL on a full disk): the lock, not the disk, is then the answer. Closing the descriptor
    /// it opens releases this process's own locks on the file, so it is for a process that holds none.
    /// </summary>
    public static DatabaseLockedException? HeldByAnother(string databasePath)
    {
        var path = Path.GetFullPath(databasePath);
        if (!OperatingSystem.IsLinux() || !Environment.Is64BitProcess || !File.Exists(path))
        {
            return null;
        }

        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return LockedBy(handle, path, WouldBlock);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The write lock another process holds on the file behind <paramref name="handle"/> (<c>F_GETLK</c>), as the exception
    /// that names its holder; <see langword="null"/> when no lock is held or the question fails.
    /// </summary>
    private static DatabaseLockedException? LockedBy(SafeFileHandle handle, string path, int errno)
    {
        var holder = new FileRegion { Type = WriteLock };
        return Control(handle, GetLock, ref holder) == 0 && holder.Type != Unlocked
            ? Locked(path, holder.Pid > 0 ? holder.Pid : null, errno)
            : null;
    }

    private static DatabaseLockedException Locked(string path, int? pid, int errno)
    {
        var reason = Marshal.GetPInvokeErrorMessage(errno);
        return new DatabaseLockedException(path, pid, $"Could not set lock on file \"{path}\": {reason}", new IOException(reason, errno));
    }

    /// <summary>Releases the lock (closing the descriptor releases it).</summary>
    public void Dispose() => _handle?.Dispose();

    private static int Control(SafeFileHandle handle, int command, ref FileRegion region)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            return FileControl(handle.DangerousGetHandle().ToInt32(), command, ref region);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int FileControl(int fd, int command, ref FileRegion region);

    /// <summary>
    /// <c>struct flock</c> of 64-bit Linux: type and whence (shorts), start and length (off_t), pid; whence, start and
    /// length 0 mean the whole file, as DuckDB locks it.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct FileRegion
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }
}
