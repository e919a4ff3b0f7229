using System.Globalization;
using System.Runtime.InteropServices;
using DuckDB.NET.Data;

namespace TradeStore.Bench;

/// <summary>The machine a report's figures came from: cores, memory, OS, .NET and DuckDB versions.</summary>
public sealed record MachineInfo(int Cores, string Cpu, double MemoryGiB, string Os, string DotNet, string DuckDb)
{
    public string Summary => FormattableString.Invariant($"{Cores} cores ({Cpu}), {MemoryGiB:0.0} GiB, {Os}, .NET {DotNet}, DuckDB {DuckDb}");

    public static MachineInfo Describe()
    {
        var cpu = ProcLine("/proc/cpuinfo", "model name") ?? RuntimeInformation.ProcessArchitecture.ToString();
        var memory = 0.0;
        if (ProcLine("/proc/meminfo", "MemTotal") is { } total && double.TryParse(total.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var kib))
        {
            memory = kib / 1024 / 1024;
        }

        return new MachineInfo(Environment.ProcessorCount, cpu, memory, RuntimeInformation.OSDescription, Environment.Version.ToString(), DuckDbVersion());
    }

    /// <summary>The 1, 5 and 15 minute load averages (Linux), or "unknown".</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string DuckDbVersion()
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version()";
        return command.ExecuteScalar()?.ToString() ?? "unknown";
    }

    private static string? ProcLine(string file, string key)
    {
        try
        {
            return File.ReadLines(file).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
