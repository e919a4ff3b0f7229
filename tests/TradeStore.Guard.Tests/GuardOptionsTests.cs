using TradeStore.Core.Diagnostics;

namespace TradeStore.Guard.Tests;

public sealed class GuardOptionsTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5000)]
    [InlineData("1.5s", 1500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("3", 3000)]
    [InlineData("00:00:30", 30_000)]
    public void Durations_TryParse_OperatorForms(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("5 parsecs")]
    public void Durations_TryParse_Nonsense_Rejected(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData("http://127.0.0.1:5080", "http://127.0.0.1:5080/health/live")]
    [InlineData("http://*:8080;http://127.0.0.1:9000", "http://127.0.0.1:8080/health/live")]
    [InlineData("http://+:8080", "http://127.0.0.1:8080/health/live")]
    [InlineData("http://0.0.0.0:8080", "http://127.0.0.1:8080/health/live")]
    [InlineData("http://[::]:8080", "http://[::1]:8080/health/live")]
    [InlineData(" http://localhost:7000/ ", "http://localhost:7000/health/live")]
    public void ProbeAddress_FromListenUrls_FirstAddressOnLoopback(string urls, string expected) =>
        Assert.Equal(new Uri(expected), ProbeAddress.FromListenUrls(urls));

    [Theory]
    [InlineData("")]
    [InlineData("nonsense")]
    [InlineData("http://127.0.0.1:0")]
    public void ProbeAddress_FromListenUrls_Unusable_Null(string urls) => Assert.Null(ProbeAddress.FromListenUrls(urls));

    [Fact]
    public void ChildCommand_ViaDotnetMuxer_RunsTheSameAssembly()
    {
        var command = ChildCommand.Resolve("/usr/share/dotnet/dotnet", "/opt/tradestore/tradestore.dll", ["serve", "--data", "/srv"]);

        Assert.Equal("/usr/share/dotnet/dotnet", command.FileName);
        Assert.Equal(["/opt/tradestore/tradestore.dll", "serve", "--data", "/srv"], command.Arguments);
    }

    [Fact]
    public void ChildCommand_ViaAppHost_RunsTheExecutable()
    {
        var command = ChildCommand.Resolve("/opt/tradestore/tradestore", "/opt/tradestore/tradestore.dll", ["serve"]);

        Assert.Equal("/opt/tradestore/tradestore", command.FileName);
        Assert.Equal(["serve"], command.Arguments);
    }

    [Fact]
    public void Validate_BadValues_NameEachFlag()
    {
        var options = new GuardOptions
        {
            Command = new ChildCommand("tradestore", ["serve"]),
            ProbeUrl = new Uri("ftp://127.0.0.1/"),
            ProbeFailures = 0,
            BackoffMin = TimeSpan.FromSeconds(5),
            BackoffMax = TimeSpan.FromSeconds(1),
            MaxRestarts = -1,
        };

        var errors = string.Join("\n", options.Validate());

        Assert.Contains("--probe-failures", errors);
        Assert.Contains("--backoff-max", errors);
        Assert.Contains("--max-restarts", errors);
        Assert.Contains("--probe-url", errors);
    }

    /// <summary>
    /// A duration past what a timer or the probe's HTTP timeout takes (<c>--probe-interval 99999999h</c>) passed the checks,
    /// and the guard died of an ArgumentOutOfRangeException with its stack trace (exit 134) after starting the child.
    /// </summary>
    [Fact]
    public void Validate_DurationBeyondTwentyFourDays_NamesTheFlag()
    {
        var options = new GuardOptions
        {
            Command = new ChildCommand("tradestore", ["serve"]),
            ProbeUrl = new Uri("http://127.0.0.1:5080/health/live"),
            ProbeInterval = TimeSpan.FromHours(99_999_999),
            GracePeriod = TimeSpan.FromDays(25),
            StartupTimeout = GuardOptions.MaxDuration,
        };

        Assert.Equal(
        [
            "--probe-interval must be at most 24 days (24.00:00:00), got 4166666.15:00:00.",
            "--grace-period must be at most 24 days (24.00:00:00), got 25.00:00:00.",
        ], options.Validate());
    }

    /// <summary>A --status-file that is a directory: the guard ran, failed every write and left DIR.tmp beside it.</summary>
    [Fact]
    public void Validate_StatusFileIsADirectory_SaysSo()
    {
        var directory = Directory.CreateTempSubdirectory("guard-status").FullName;
        try
        {
            var options = new GuardOptions { Command = new ChildCommand("tradestore", ["serve"]), ProbeUrl = new Uri("http://127.0.0.1:5080/health/live"), StatusFile = directory };

            Assert.Equal([$"--status-file: {directory} is a directory, not a file."], options.Validate());
        }
        finally
        {
            Directory.Delete(directory);
        }
    }

    [Fact]
    public void Validate_Defaults_Valid() =>
        Assert.Empty(new GuardOptions { Command = new ChildCommand("tradestore", ["serve"]), ProbeUrl = new Uri("http://127.0.0.1:5080/health/live") }.Validate());
}
