using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using TradeStore.Core.Security;
using TradeStore.TestSupport;

namespace TradeStore.IntegrationTests;

/// <summary>The security story through the real executable: <c>keys new</c>, secrets.toml, the refusal to expose an unauthenticated service.</summary>
public sealed partial class SecurityCliTests : IDisposable
{
    private readonly TempDirectory _work = new("security");

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task KeysNew_PastedIntoSecretsToml_KeyAcceptedByServeAndHashNeverShown()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "trader", "--accounts", "ACC1,ACC2", "--name", "desk-a"], _work.Path);
        Assert.Equal(0, exitCode);
        var key = KeyLine().Match(output).Value;
        var toml = output[output.IndexOf("[[Security.ApiKeys]]", StringComparison.Ordinal)..output.IndexOf("or to the environment", StringComparison.Ordinal)];
        var hash = HashLine().Match(toml).Groups[1].Value;
        Assert.StartsWith("ts_", key, StringComparison.Ordinal);
        Assert.Contains("Accounts = [\"ACC1\", \"ACC2\"]", toml, StringComparison.Ordinal);
        // The whole secret as the server parses it (a base64url secret may itself contain '_').
        Assert.True(ApiKeyHash.TryParseKey(key, out _, out var secret) && secret.Length >= 40, key);
        Assert.DoesNotContain(secret, toml, StringComparison.Ordinal);
        var secrets = _work.File("secrets.toml");
        await File.WriteAllTextAsync(secrets, toml, TestContext.Current.CancellationToken);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var (showExit, shown) = await TradeStoreProcess.RunAsync(["config", "show", "--data", _work.Path], _work.Path);
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        await using var child = TradeStoreProcess.Start(["serve", "--data", _work.Path, "--urls", url], _work.Path);
        await child.WaitUntilAnsweringAsync($"{url}/health/ready", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        var anonymous = await http.GetAsync("/v1/trades?account=ACC1", TestContext.Current.CancellationToken);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var withKey = await http.GetAsync("/v1/trades?account=ACC1", TestContext.Current.CancellationToken);
        var metrics = await http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

        Assert.Equal(0, showExit);
        Assert.Contains("\"desk-a\"", shown, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, shown, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
        Assert.DoesNotContain(hash, metrics, StringComparison.Ordinal);
        child.Signal(15);
        Assert.Equal(0, await child.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain(secret, child.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, child.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretsToml_GroupReadable_RefusedWithExitTwo()
    {
        var secrets = _work.File("secrets.toml");
        await File.WriteAllTextAsync(secrets, "[Redis]\nPassword = \"hunter2\"\n", TestContext.Current.CancellationToken);
        File.SetUnixFileMode(secrets, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var (exitCode, output) = await TradeStoreProcess.RunAsync(["config", "show"], _work.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("chmod 600", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The same through the executable: a secrets.toml directory stops the command with exit 2 naming it; a .env
    /// directory is named once on the standard error and the command goes on.
    /// </summary>
    [Fact]
    public async Task SecretsTomlOrDotEnvThatIsADirectory_SecretsExitTwoDotEnvWarnedOnce()
    {
        var secrets = Directory.CreateDirectory(_work.File("secrets.toml")).FullName;
        var (refusedExit, refused) = await TradeStoreProcess.RunAsync(["config", "show"], _work.Path);
        Directory.Delete(secrets);
        var dotEnv = Directory.CreateDirectory(_work.File(".env")).FullName;
        var (warnedExit, warned) = await TradeStoreProcess.RunAsync(["config", "show"], _work.Path);

        Assert.Equal(2, refusedExit);
        Assert.Contains($"tradestore: configuration error: {secrets} is a directory, not a file", refused, StringComparison.Ordinal);
        Assert.True(warnedExit == 0, warned);
        var warning = $"tradestore: warning: {dotEnv} is a directory, not a file: it is not read as configuration";
        Assert.Contains(warning, warned, StringComparison.Ordinal);
        Assert.Equal(warned.IndexOf(warning, StringComparison.Ordinal), warned.LastIndexOf(warning, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_NonLoopbackWithoutKeys_ExitsTwoNamingServerUrls()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["serve", "--data", _work.Path, "--urls", $"http://0.0.0.0:{FreePort.Next()}"], _work.Path);

        Assert.Equal(2, exitCode);
        Assert.Contains("Server:Urls", output, StringComparison.Ordinal);
        Assert.False(File.Exists(_work.DatabasePath));
    }

    /// <summary>
    /// The environment lines of <c>keys new</c> are single-quoted: pasted into a shell, an unquoted hash's <c>$…</c>
    /// expanded to nothing. The same lines, as a <c>.env</c> file, configure a key that serve accepts.
    /// </summary>
    [Fact]
    public async Task KeysNew_EnvironmentLines_PasteIntoAShellAndIntoDotEnvUnchanged()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "trader", "--accounts", "ACC1", "--name", "desk-b"], _work.Path);
        Assert.Equal(0, exitCode);
        var key = KeyLine().Match(output).Value;
        var hash = HashLine().Match(output).Groups[1].Value;
        var lines = output.Split('\n').Select(line => line.TrimEnd('\r')).Where(line => line.StartsWith("TRADESTORE__", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, lines.Count);
        Assert.All(lines, line => Assert.Matches("^TRADESTORE__[A-Z0-9_]+='[^']+'$", line));
        Assert.Contains("$", hash, StringComparison.Ordinal);

        var shell = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardInput = true, RedirectStandardOutput = true };
        using (var sh = System.Diagnostics.Process.Start(shell)!)
        {
            await sh.StandardInput.WriteAsync(string.Join('\n', lines) + "\nprintf '%s' \"$TRADESTORE__SECURITY__APIKEYS__0__HASH\"\n");
            sh.StandardInput.Close();
            Assert.Equal(hash, await sh.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken));
            await sh.WaitForExitAsync(TestContext.Current.CancellationToken);
        }

        await File.WriteAllLinesAsync(_work.File(".env"), lines, TestContext.Current.CancellationToken);
        await ServeSession.RunAsync(_work.Path, async url =>
        {
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/v1/trades?account=ACC1", TestContext.Current.CancellationToken)).StatusCode);
            // The account line was read too: a create in another account is refused.
            Assert.Equal(HttpStatusCode.Created, (await http.PostAsync("/v1/trades", Trade("T-1", "ACC1"), TestContext.Current.CancellationToken)).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.PostAsync("/v1/trades", Trade("T-2", "ACC2"), TestContext.Current.CancellationToken)).StatusCode);
        });
    }

    /// <summary>
    /// An empty --accounts (an unset shell variable) or an empty item made a key for every account, exit 0; now exit 2 naming
    /// --accounts, and no key is printed. Omitting --accounts still makes an every-account key.
    /// </summary>
    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("A,,B")]
    [InlineData("A,")]
    [InlineData(",A")]
    public async Task KeysNew_EmptyAccountsOrAnEmptyItem_ExitsTwoNamingAccounts(string accounts)
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "trader", "--accounts", accounts], _work.Path);

        Assert.True(exitCode == 2, output);
        Assert.Contains("tradestore: --accounts:", output, StringComparison.Ordinal);
        Assert.DoesNotContain("API key", output, StringComparison.Ordinal);
        Assert.DoesNotMatch(KeyLine(), output);
    }

    [Fact]
    public async Task KeysNew_AccountsOmitted_KeyForEveryAccount()
    {
        var (exitCode, output) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "reader"], _work.Path);

        Assert.True(exitCode == 0, output);
        Assert.Contains("Accounts = []", output, StringComparison.Ordinal);
        Assert.DoesNotContain("__ACCOUNTS__", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysNew_UnknownRole_ExitsTwo()
    {
        var (exitCode, _) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "root"], _work.Path);

        Assert.Equal(2, exitCode);
    }

    /// <summary>
    /// The help of <c>keys new</c> said only "A name for logs and error messages" while a name with a blank was refused
    /// with "use letters, digits, '.', '_' or '-' (1-64 characters)": the rule was learned by being refused. Both say it now,
    /// from one constant; a 64-character name of every allowed kind passes, a 65th character or a blank does not.
    /// </summary>
    [Fact]
    public async Task KeysNew_HelpSaysWhichCharactersNameTakesAsTheRefusalDoes()
    {
        const string rule = "letters, digits, '.', '_' or '-' (1-64 characters)";
        var (helpExit, help) = await TradeStoreProcess.RunAsync(["keys", "new", "--help"], _work.Path);
        var (badExit, bad) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "reader", "--name", "desk a"], _work.Path);
        var longest = "Aa0._-" + new string('x', 58);
        var (longestExit, longestOutput) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "reader", "--name", longest], _work.Path);
        var (tooLongExit, tooLong) = await TradeStoreProcess.RunAsync(["keys", "new", "--role", "reader", "--name", longest + "x"], _work.Path);

        Assert.True(helpExit == 0, help);
        Assert.Contains(rule, Regex.Replace(help, @"\s+", " "), StringComparison.Ordinal); // the help wraps at the terminal's width
        Assert.Equal(2, badExit);
        Assert.Contains($"tradestore: --name: use {rule}.", bad, StringComparison.Ordinal);
        Assert.True(longestExit == 0, longestOutput);
        Assert.Contains($"Name = \"{longest}\"", longestOutput, StringComparison.Ordinal);
        Assert.Equal(2, tooLongExit);
        Assert.Contains(rule, tooLong, StringComparison.Ordinal);
    }

    private static StringContent Trade(string tradeId, string account) => new(
        $$"""{"tradeId":"{{tradeId}}","account":"{{account}}","symbol":"AAPL","side":"buy","quantity":100,"price":187.25,"executedAt":"2026-01-02T10:00:00Z"}""",
        System.Text.Encoding.UTF8, "application/json");

    [GeneratedRegex(@"^ts_[0-9a-f]+_[A-Za-z0-9_-]+$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();

    [GeneratedRegex("Hash = \"([^\"]+)\"")]
    private static partial Regex HashLine();
}
