using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>
/// A command line that does not parse: exit code 2, each mistake on one <c>tradestore: …</c> line in an operator's words
/// (no .NET type names), and where the usage is; not the whole help text.
/// </summary>
public sealed class CommandLineErrorTests : IDisposable
{
    private readonly TempDirectory _work = new("cli-errors");

    public void Dispose() => _work.Dispose();

    public static TheoryData<string[], string> Cases => new()
    {
        { ["verify", "--sample-above", "abc"], "tradestore: Cannot parse argument 'abc' for option '--sample-above' as a whole number.\nRun 'tradestore verify --help' for usage." },
        { ["guard", "--max-restarts", "abc", "--", "serve"], "tradestore: Cannot parse argument 'abc' for option '--max-restarts' as a whole number.\nRun 'tradestore guard --help' for usage." },
        { ["bogus"], "tradestore: Unrecognized command or argument 'bogus'.\nRun 'tradestore --help' for usage." },
        { ["tail", "--url", "notaurl"], "tradestore: --url must be an absolute http:// or https:// address, got 'notaurl'.\nRun 'tradestore tail --help' for usage." },
        { ["keys", "new", "--role", "god"], "tradestore: Argument 'god' not recognized. Must be one of: 'reader', 'trader', 'admin'\nRun 'tradestore keys new --help' for usage." },
        { ["migrate", "status", "--target", "mongo"], "tradestore: Argument 'mongo' not recognized. Must be one of: 'duckdb', 'clickhouse'\nRun 'tradestore migrate status --help' for usage." },
        { ["migrate", "status", "--nope"], "tradestore: Unrecognized command or argument '--nope'.\nRun 'tradestore migrate status --help' for usage." },
        // --help used to hide the unknown word: the root's (or the verb's) help and exit 0, as if it were a command.
        { ["bench", "--help"], "tradestore: Unrecognized command or argument 'bench'.\nRun 'tradestore --help' for usage." },
        { ["serve", "bogus", "--help"], "tradestore: Unrecognized command or argument 'bogus'.\nRun 'tradestore serve --help' for usage." },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task CommandLine_DoesNotParse_ExitTwoWithTheMistakeAndWhereUsageIs(string[] arguments, string expected)
    {
        var (exit, output) = await TradeStoreProcess.RunAsync(arguments, _work.Path);

        Assert.True(exit == 2, output);
        Assert.Equal(expected, output.Trim().ReplaceLineEndings("\n"));
    }
}
