using System.Diagnostics;

namespace TradeStore.TestSupport;

/// <summary>Runs one of the repository's <c>scripts/</c> with bash from the repository root, as a user would.</summary>
public static class RepositoryScript
{
    /// <summary>
    /// Runs <c>scripts/<paramref name="script"/></c> with <paramref name="arguments"/> and the extra
    /// <paramref name="environment"/> variables, and returns its exit code with its standard output followed by its
    /// standard error. A script still running after <paramref name="timeout"/> is killed with its children, and the wait
    /// throws.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string script, IEnumerable<string> arguments, IEnumerable<(string Name, string Value)> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var process = Start(script, arguments, environment);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// Starts <c>scripts/<paramref name="script"/></c> as <see cref="RunAsync"/> does, with its standard output and error
    /// redirected (the caller reads them), and returns the running bash process.
    /// </summary>
    public static Process Start(string script, IEnumerable<string> arguments, IEnumerable<(string Name, string Value)> environment)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = TradeStoreProcess.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine("scripts", script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start)!;
    }
}
