using System.Runtime.ExceptionServices;

namespace TradeStore.Storage;

/// <summary>
/// One dedicated thread that runs work at a lower CPU priority (<see cref="CpuPriority"/>) while its caller waits:
/// the caller keeps its own priority for everything else it does.
/// </summary>
/// <remarks>
/// By design only the work itself runs on the lowered thread, and the caller does the signalling: Linux gives a new
/// thread the nice value of the thread that creates it, and .NET's thread pool creates its workers, its gate thread and
/// its timer thread from whichever thread happens to ask for one. A niced thread that completes a task or wakes a
/// channel can thus create pool threads that then serve HTTP at its priority for as long as they live (reproduced: after
/// idle workers retired, a thread at nice 10 that queued work created 7 of the 8 new pool threads at nice 10). The
/// handover uses only blocking waits, which never involve the pool. Create it from a thread at normal priority.
/// </remarks>
public sealed class LowPriorityThread : IDisposable
{
    private readonly Lock _callers = new();
    private readonly SemaphoreSlim _start = new(0);
    private readonly SemaphoreSlim _finished = new(0);
    private readonly Thread _thread;
    private Action? _work;
    private ExceptionDispatchInfo? _error;
    private bool _disposed;

    /// <param name="name">The thread's name (Linux keeps its first 15 bytes).</param>
    /// <param name="nice">Its nice value (<see cref="CpuPriority.Background"/> or <see cref="CpuPriority.Lowest"/>).</param>
    public LowPriorityThread(string name, int nice)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nice, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, CpuPriority.Lowest);
        _thread = new Thread(() => Loop(nice)) { IsBackground = true, Name = name };
        _thread.Start();
    }

    /// <summary>Runs <paramref name="work"/> on the lowered thread and waits for it; its exception is rethrown here, unchanged.</summary>
    public void Run(Action work)
    {
        lock (_callers)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _work = work;
            _start.Release();
            _finished.Wait();
            var error = _error;
            (_work, _error) = (null, null);
            error?.Throw();
        }
    }

    /// <summary>Runs <paramref name="work"/> on the lowered thread and returns its result.</summary>
    public T Run<T>(Func<T> work)
    {
        T result = default!;
        Run(() =>
        {
            result = work();
        });
        return result;
    }

    /// <summary>Ends the thread once the work running, if any, is done.</summary>
    public void Dispose()
    {
        lock (_callers)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _start.Release();
        }

        _thread.Join();
        _start.Dispose();
        _finished.Dispose();
    }

    private void Loop(int nice)
    {
        CpuPriority.LowerCurrentThread(nice);
        while (true)
        {
            _start.Wait();
            var work = _work;
            if (work is null)
            {
                return; // disposed
            }

            try
            {
                work();
            }
            catch (Exception ex)
            {
                _error = ExceptionDispatchInfo.Capture(ex);
            }

            _finished.Release();
        }
    }
}
