using System.Runtime.InteropServices;

namespace TradeStore.Cli;

/// <summary>
/// Notices that the reader of standard output went away (<c>tradestore tail | head -1</c>) while a following command has
/// nothing to print. A write to such a pipe fails with EPIPE and ends the command (<see cref="StandardStreams"/>), but
/// tail on a quiet feed writes nothing, so it waited for the next event: for ever on an idle server, holding the
/// caller's pipeline open. Linux's poll(2) reports POLLERR on a pipe's write end once its read end is closed, and
/// POLLHUP on a socket whose peer left, with no event asked for (as GNU <c>tail -f</c> notices it); a regular file,
/// <c>/dev/null</c> or a terminal reports neither.
/// </summary>
internal sealed partial class OutputReaderWatch : IDisposable
{
    private const int StandardOutput = 1;
    private const short PollErr = 0x008;
    private const short PollHup = 0x010;
    private const short PollNval = 0x020;
    private const int Interrupted = 4; // EINTR

    /// <summary>How long one poll waits before it looks whether the watch was disposed.</summary>
    private const int PollMilliseconds = 250;

    private readonly Action _readerGone;
    private volatile bool _disposed;
    private volatile bool _gone;

    private OutputReaderWatch(Action readerGone) => _readerGone = readerGone;

    /// <summary>True once the reader of standard output went away; the command should end with <see cref="ExitCodes.OutputFailed"/>.</summary>
    public bool ReaderGone => _gone;

    /// <summary>Watches standard output on a background thread and calls <paramref name="readerGone"/> once when its reader leaves.</summary>
    public static OutputReaderWatch Start(Action readerGone)
    {
        var watch = new OutputReaderWatch(readerGone);
        if (OperatingSystem.IsLinux())
        {
            new Thread(watch.Run) { IsBackground = true, Name = "stdout reader watch" }.Start();
        }

        return watch;
    }

    public void Dispose() => _disposed = true;

    private void Run()
    {
        var descriptor = new PollFd { Fd = StandardOutput };
        while (!_disposed)
        {
            descriptor.Revents = 0;
            var ready = Poll(ref descriptor, 1, PollMilliseconds);
            if (ready < 0 && Marshal.GetLastPInvokeError() != Interrupted)
            {
                return;
            }

            if (ready <= 0)
            {
                continue;
            }

            if ((descriptor.Revents & PollNval) != 0)
            {
                return; // standard output closed (`>&-`): nothing to watch; a write reports it
            }

            if ((descriptor.Revents & (PollErr | PollHup)) != 0)
            {
                _gone = true;
                if (!_disposed)
                {
                    _readerGone();
                }

                return;
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(ref PollFd descriptors, nuint count, int timeoutMilliseconds);
}
