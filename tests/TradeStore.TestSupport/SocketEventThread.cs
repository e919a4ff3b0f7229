using System.Net;
using System.Net.Sockets;

namespace TradeStore.TestSupport;

/// <summary>
/// Code run on one of .NET's socket event threads, as a request runs there in <c>tradestore serve</c>: the test
/// process must poll sockets with inline completions (tests/Shared/ProductionSocketMode.cs).
/// </summary>
public static class SocketEventThread
{
    /// <summary>The name .NET gives its socket event threads.</summary>
    public const string Name = ".NET Sockets";

    /// <summary>Runs <paramref name="work"/> in the completion of a socket receive, which runs inline on the event thread that polled it.</summary>
    public static Task<T> RunAsync<T>(Func<T> work)
    {
        var (client, server) = ConnectedPair();
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var receive = new SocketAsyncEventArgs();
        receive.SetBuffer(new byte[1], 0, 1);
        receive.Completed += (_, _) =>
        {
            try
            {
                if (Thread.CurrentThread.Name != Name)
                {
                    throw new InvalidOperationException($"The completion ran on '{Thread.CurrentThread.Name}', not a socket event thread: are inline completions on?");
                }

                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
            finally
            {
                client.Dispose();
                server.Dispose();
                receive.Dispose();
            }
        };
        if (!server.ReceiveAsync(receive))
        {
            throw new InvalidOperationException("The receive completed before anything was sent.");
        }

        client.Send([1]);
        return done.Task;
    }

    /// <summary>
    /// A connected pair of loopback sockets that no asynchronous call has touched, so neither is registered with an
    /// event thread yet (.NET assigns each socket to the next event thread, in turn, at its first asynchronous call).
    /// </summary>
    public static (Socket Client, Socket Server) ConnectedPair()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        return (client, listener.Accept());
    }
}
