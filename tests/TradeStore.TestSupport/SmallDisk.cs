using System.Diagnostics;
using Xunit;

namespace TradeStore.TestSupport;

/// <summary>
/// A real small filesystem (tmpfs, mounted by the test; needs root) that a test fills and empties: a full disk
/// without injected errors. Without the right to mount, the test is skipped, and under <c>CI=true</c> it fails.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private const string Filler = "filler";

    private SmallDisk(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Path of the database file TradeStore uses on this disk.</summary>
    public string DatabasePath => System.IO.Path.Combine(Path, "tradestore.duckdb");

    /// <summary>Mounts a tmpfs of <paramref name="megabytes"/> MiB on a fresh directory (read-only: nothing can be created in it).</summary>
    public static SmallDisk Mount(int megabytes, bool readOnly = false)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tradestore-disk-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        var (exitCode, output) = Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m{(readOnly ? ",ro" : string.Empty)}", "tmpfs", path);
        if (exitCode != 0)
        {
            Directory.Delete(path);
            var message = $"cannot mount a tmpfs for the full-disk test (needs root): {output.Trim()}";
            if (TestServers.IsCi)
            {
                Assert.Fail(message);
            }

            Assert.Skip(message);
        }

        return new SmallDisk(path);
    }

    /// <summary>Fills the disk to the last byte with a filler file (TradeStore's next write gets ENOSPC).</summary>
    public void Fill()
    {
        using var stream = new FileStream(System.IO.Path.Combine(Path, Filler), FileMode.Append, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        var block = new byte[64 * 1024];
        var size = block.Length;
        while (size > 0)
        {
            try
            {
                stream.Write(block, 0, size);
                stream.Flush();
            }
            catch (IOException)
            {
                size /= 2;
            }
        }
    }

    /// <summary>Deletes the filler: the space is back.</summary>
    public void Empty() => File.Delete(System.IO.Path.Combine(Path, Filler));

    public void Dispose()
    {
        Run("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Lazily unmounted; the OS cleans temp folders.
        }
    }

    private static (int ExitCode, string Output) Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return (-1, ex.Message);
        }
    }
}
