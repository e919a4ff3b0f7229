using System.Text;
using Microsoft.Win32.SafeHandles;

namespace TradeStore.Cli;

/// <summary>
/// The writers the commands print through. A failed write to standard output (a full disk, a closed file, a pipe whose
/// reader went away) becomes one <see cref="StandardOutputException"/>, which <see cref="CliRunner"/> turns into exit
/// code 8 instead of an unhandled exception (exit 134, a stack trace); a failed write to standard error is dropped,
/// since there is nowhere left to report it and the exit code still tells.
/// </summary>
internal static class StandardStreams
{
    /// <summary>EPIPE on Linux and macOS: .NET reports an errno it has no exception type for as the IOException's HResult.</summary>
    private const int BrokenPipe = 32;

    /// <summary>
    /// Standard output as a stream of its own when it is a pipe, a socket or a device: <see cref="Console.Out"/> drops
    /// EPIPE silently, so a command whose reader left (<c>tradestore tail | head -1</c>) would go on producing output
    /// nobody reads, for ever in the case of tail. Flushed on every write, as <see cref="Console.Out"/> is, so lines
    /// interleave with the log's as they are written.
    /// </summary>
    /// <remarks>
    /// By design <see cref="Console.Out"/> for a regular file: a <see cref="FileStream"/> over a seekable file writes at
    /// its own position, not the descriptor's, so in <c>{ echo a; tradestore …; echo b; } &gt; log</c> the shell's
    /// lines and the command's overwrote each other (seen in <c>scripts/bench-write-path.sh</c>'s log). A regular file has
    /// no reader to go away, and <see cref="Console.Out"/> does report its other failures (a full disk).
    /// </remarks>
    public static TextWriter Output()
    {
        if (OperatingSystem.IsWindows())
        {
            return Console.Out;
        }

        try
        {
            var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            if (stream.CanSeek)
            {
                stream.Dispose(); // the descriptor stays open: the handle does not own it
                return Console.Out;
            }

            return TextWriter.Synchronized(new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true });
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Standard output closed (`>&-`) or not a file .NET can open: Console.Out discards what goes there.
            return Console.Out;
        }
    }

    /// <summary><paramref name="output"/>, whose write failures end the command (<see cref="StandardOutputException"/>).</summary>
    public static TextWriter Guarded(TextWriter output) => new GuardedWriter(output, dropFailures: false);

    /// <summary><paramref name="error"/>, whose write failures are dropped.</summary>
    public static TextWriter Lenient(TextWriter error) => new GuardedWriter(error, dropFailures: true);

    /// <summary>Forwards every write to the inner writer and handles its failures one way.</summary>
    private sealed class GuardedWriter(TextWriter inner, bool dropFailures) : TextWriter(inner.FormatProvider)
    {
        public override Encoding Encoding => inner.Encoding;

        [System.Diagnostics.CodeAnalysis.AllowNull]
        public override string NewLine
        {
            get => inner.NewLine;
            set => inner.NewLine = value;
        }

        public override void Write(char value) => Guard(() => inner.Write(value));

        public override void Write(char[] buffer, int index, int count) => Guard(() => inner.Write(buffer, index, count));

        public override void Write(ReadOnlySpan<char> buffer)
        {
            var text = buffer.ToString();
            Guard(() => inner.Write(text));
        }

        public override void Write(string? value) => Guard(() => inner.Write(value));

        public override void WriteLine() => Guard(inner.WriteLine);

        public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));

        public override void WriteLine(ReadOnlySpan<char> buffer)
        {
            var text = buffer.ToString();
            Guard(() => inner.WriteLine(text));
        }

        public override void Flush() => Guard(inner.Flush);

        public override Task WriteAsync(string? value) => GuardAsync(() => inner.WriteAsync(value));

        public override Task WriteAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) =>
            GuardAsync(() => inner.WriteAsync(buffer, cancellationToken));

        public override Task WriteLineAsync(string? value) => GuardAsync(() => inner.WriteLineAsync(value));

        public override Task WriteLineAsync(ReadOnlyMemory<char> buffer, CancellationToken cancellationToken = default) =>
            GuardAsync(() => inner.WriteLineAsync(buffer, cancellationToken));

        public override Task FlushAsync() => GuardAsync(inner.FlushAsync);

        private void Guard(Action write)
        {
            try
            {
                write();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(ex);
            }
        }

        private async Task GuardAsync(Func<Task> write)
        {
            try
            {
                await write();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Fail(ex);
            }
        }

        /// <summary>Drops the failure of a write to standard error; ends the command on one to standard output.</summary>
        /// <remarks>A closed descriptor (EBADF) is an <see cref="UnauthorizedAccessException"/> in .NET.</remarks>
        private void Fail(Exception ex)
        {
            if (!dropFailures)
            {
                throw new StandardOutputException(ex, ex.HResult == BrokenPipe);
            }
        }
    }
}

/// <summary>
/// Standard output could not be written. Not an <see cref="IOException"/>, so no command's handling of its own file or
/// network errors takes it for one of those (the change-feed tail would reconnect for ever).
/// </summary>
public sealed class StandardOutputException(Exception cause, bool readerGone)
    : Exception($"cannot write standard output: {(cause.InnerException as IOException ?? cause).Message}", cause)
{
    /// <summary>The write failed with EPIPE: the reading end of the pipe was closed (<c>| head -1</c>).</summary>
    public bool ReaderGone { get; } = readerGone;
}
