using System.Runtime.ExceptionServices;

namespace TradeStore.Storage;

/// <summary>
/// One dedicated thread that runs work at a lower CPU priority (<see cref="CpuPriority"/>) while its caller waits:
/// the caller keeps its own priority for everything else it does, and the work hands it whatever wakes other threads
/// (<see cref="AtNormalPriority"/>).
/// </summary>
/// <remarks>
/// By design only the work itself runs on the lowered thread: Linux gives a new thread the nice value of the thread
/// that creates it, and .NET's thread pool creates its workers, its gate thread and its timer thread from whichever
/// thread happens to ask for one. A niced thread that completes a task or wakes a channel can thus create pool threads
/// that then serve HTTP at its priority for as long as they live (reproduced: after idle workers retired, a thread at
/// nice 10 that queued work created 7 of the 8 new pool threads at nice 10). The handovers use only blocking waits,
/// which never involve the pool. Create it from a thread at normal priority.
/// </remarks>
public sealed class LowPriorityThread : IDisposable
{
    [ThreadStatic]
    private static LowPriorityThread? t_current;

    private readonly Lock _callers = new();
    private readonly SemaphoreSlim _start = new(0);
    private readonly SemaphoreSlim _toCaller = new(0);
    private readonly SemaphoreSlim _callbackDone = new(0);
    private readonly Thread _thread;
    private Action? _work;
    private Action? _callback;
    private ExceptionDispatchInfo? _error;
    private ExceptionDispatchInfo? _callbackError;
    private bool _disposed;
    private int _threadId;

    /// <param name="name">The thread's name (Linux keeps its first 15 bytes).</param>
    /// <param name="nice">Its nice value (<see cref="CpuPriority.Background"/> or <see cref="CpuPriority.Lowest"/>).</param>
    public LowPriorityThread(string name, int nice)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nice, 0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(nice, CpuPriority.Lowest);
        using var started = new ManualResetEventSlim();
        _thread = new Thread(() => Loop(nice, started)) { IsBackground = true, Name = name };
        _thread.Start();
        started.Wait();
    }

    /// <summary>Whether the operating system lowered the thread's priority (<see cref="CpuPriority.LowerCurrentThread"/>).</summary>
    public bool Lowered { get; private set; }

    /// <summary>The thread's id in the kernel (Linux, for <see cref="Storage.SchedulerTimes"/>); 0 elsewhere.</summary>
    public int ThreadId => _threadId;

    /// <summary>
    /// Runs <paramref name="action"/> at normal priority: on the waiting caller's thread when called from work that runs
    /// on a <see cref="LowPriorityThread"/> (the work waits for it), here otherwise. Completing a task, writing to a
    /// channel or anything else that may wake the thread pool goes through it.
    /// </summary>
    public static void AtNormalPriority(Action action)
    {
        if (t_current is { } lowered)
        {
            lowered.OnCaller(action);
        }
        else
        {
            action();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the lowered thread and waits for it, running here what it hands over
    /// (<see cref="AtNormalPriority"/>); its exception is rethrown here, unchanged.
    /// </summary>
    public void Run(Action work)
    {
        lock (_callers)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _work = work;
            _start.Release();
            while (true)
            {
                _toCaller.Wait();
                if (_callback is not { } callback)
                {
                    break;
                }

                try
                {
                    callback();
                }
                catch (Exception ex)
                {
                    _callbackError = ExceptionDispatchInfo.Capture(ex);
                }

                _callbackDone.Release();
            }

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
        _toCaller.Dispose();
        _callbackDone.Dispose();
    }

    /// <summary>On the lowered thread: has the waiting caller run <paramref name="action"/>, and waits for it.</summary>
    private void OnCaller(Action action)
    {
        _callback = action;
        _toCaller.Release();
        _callbackDone.Wait();
        var error = _callbackError;
        (_callback, _callbackError) = (null, null);
        error?.Throw();
    }

    private void Loop(int nice, ManualResetEventSlim started)
    {
        Lowered = CpuPriority.LowerCurrentThread(nice);
        _threadId = CpuPriority.CurrentThreadId();
        t_current = this;
        started.Set();
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

            _toCaller.Release();
        }
    }
}
