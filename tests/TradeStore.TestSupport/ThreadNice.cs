using System.Globalization;

namespace TradeStore.TestSupport;

/// <summary>Nice values of Linux threads, read from <c>/proc</c> (the tests of the lowered DuckDB and query threads).</summary>
public static class ThreadNice
{
    /// <summary>The nice value of the calling thread.</summary>
    public static int Current() => FromStat(File.ReadAllText("/proc/thread-self/stat"));

    /// <summary>
    /// The nice value in the text of a <c>/proc/…/stat</c> file: its 19th field, counted after the command name in
    /// parentheses (which may itself hold spaces).
    /// </summary>
    public static int FromStat(string stat) => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], CultureInfo.InvariantCulture);
}
