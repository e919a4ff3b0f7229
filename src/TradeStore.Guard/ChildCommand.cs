using System.Reflection;

namespace TradeStore.Guard;

/// <summary>The executable and arguments the guard runs as its child.</summary>
public sealed record ChildCommand(string FileName, IReadOnlyList<string> Arguments)
{
    /// <summary>
    /// This very program with other arguments: the apphost (<c>tradestore serve …</c>) or, when started through the
    /// muxer, <c>dotnet tradestore.dll serve …</c>, so the child always runs the same build as the guard.
    /// </summary>
    public static ChildCommand ForThisProgram(IEnumerable<string> arguments) =>
        Resolve(Environment.ProcessPath, Assembly.GetEntryAssembly()?.Location, arguments);

    public static ChildCommand Resolve(string? processPath, string? entryAssemblyPath, IEnumerable<string> arguments)
    {
        if (string.IsNullOrEmpty(processPath))
        {
            throw new InvalidOperationException("The path of the running executable is unknown, so the guard cannot start a copy of it.");
        }

        var viaMuxer = string.Equals(Path.GetFileNameWithoutExtension(processPath), "dotnet", StringComparison.Ordinal);
        // By design an empty assembly location (single-file publish) means the executable is self-contained: run it directly.
        return viaMuxer && !string.IsNullOrEmpty(entryAssemblyPath)
            ? new ChildCommand(processPath, [entryAssemblyPath, .. arguments])
            : new ChildCommand(processPath, [.. arguments]);
    }

    public override string ToString() => string.Join(' ', new[] { FileName }.Concat(Arguments).Select(Quote));

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c)) ? value : $"'{value.Replace("'", "'\\''", StringComparison.Ordinal)}'";
}
