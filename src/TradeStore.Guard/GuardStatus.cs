using System.Text.Json;
using System.Text.Json.Serialization;
using TradeStore.Core.Security;

namespace TradeStore.Guard;

/// <summary>
/// What the guard is doing, written as JSON to the status file after every change and probe, so an operator
/// (or a script) can see the child's pid, state, restarts, last exit and last probe without reading logs.
/// </summary>
public sealed record GuardStatus
{
    public int GuardPid { get; init; }

    /// <summary><c>starting</c>, <c>running</c>, <c>stopping</c>, <c>backing_off</c>, <c>stopped</c> or <c>gave_up</c>.</summary>
    public string State { get; init; } = GuardStates.Starting;

    public int? ChildPid { get; init; }

    public DateTimeOffset? ChildStartedAt { get; init; }

    public int Restarts { get; init; }

    public int RestartsInWindow { get; init; }

    public int MaxRestarts { get; init; }

    public double RestartWindowSeconds { get; init; }

    public DateTimeOffset? NextStartAt { get; init; }

    public int ConsecutiveProbeFailures { get; init; }

    public string ProbeUrl { get; init; } = string.Empty;

    public ChildExit? LastExit { get; init; }

    public ProbeStatus? LastProbe { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>How a child ended: its exit code, the signal if one killed it, and why (<c>exited</c>, <c>hung</c>, <c>startup_timeout</c>, <c>stopped</c>).</summary>
public sealed record ChildExit(int Pid, DateTimeOffset At, int ExitCode, string? Signal, string Reason, double UptimeSeconds);

/// <summary>The last liveness probe.</summary>
public sealed record ProbeStatus(DateTimeOffset At, bool Ok, string Detail, double DurationMs);

/// <summary>The state names of <see cref="GuardStatus.State"/>.</summary>
public static class GuardStates
{
    public const string Starting = "starting";
    public const string Running = "running";
    public const string Stopping = "stopping";
    public const string BackingOff = "backing_off";
    public const string Stopped = "stopped";
    public const string GaveUp = "gave_up";
}

[JsonSerializable(typeof(GuardStatus))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
public sealed partial class GuardStatusJsonContext : JsonSerializerContext;

/// <summary>Writes <see cref="GuardStatus"/> atomically (temporary file, then rename), so readers never see half a file.</summary>
public sealed class StatusFile(string path)
{
    public string Path { get; } = System.IO.Path.GetFullPath(path);

    public void Write(GuardStatus status)
    {
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory))
        {
            // The default status file is DIR/tradestore-guard.json, written before serve starts: a data directory the guard
            // created with the default 0755 was kept by serve (an existing directory keeps its mode), and the database and
            // journal log in it were readable by every local account.
            PrivateDirectory.Create(directory);
        }

        var temporary = Path + ".tmp";
        File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(status, GuardStatusJsonContext.Default.GuardStatus));
        File.Move(temporary, Path, overwrite: true);
    }

    public static GuardStatus? Read(string path) =>
        JsonSerializer.Deserialize(File.ReadAllBytes(path), GuardStatusJsonContext.Default.GuardStatus);
}
