using System.CommandLine;
using System.Text.RegularExpressions;
using TradeStore.Core.Security;
using TradeStore.Core.Trades;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore keys new</c>: makes an API key, prints it once, and prints the configuration that accepts it (the hash, never the key).</summary>
public static partial class KeysCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "reader (reads), trader (reads and writes) or admin (everything, including SQL).", Required = true };
        role.AcceptOnlyFromAmong([.. ApiRoles.All]);
        var accounts = new Option<string?>("--accounts") { Description = "Comma-separated accounts the key may touch; omit it for a key that may touch every account (an empty value is refused).", HelpName = "ACC1,ACC2" };
        var name = new Option<string?>("--name") { Description = $"A name for logs and error messages, of {NameRule}; default key-<id>.", HelpName = "NAME" };
        var create = new Command("new", "Create an API key. The key is printed once: store it now; the configuration holds only its salted hash.")
        {
            role,
            accounts,
            name,
        };
        create.SetAction(parseResult =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var keyName = parseResult.GetValue(name);
            if (keyName is not null && !NamePattern().IsMatch(keyName))
            {
                error.WriteLine($"tradestore: --name: use {NameRule}.");
                return ExitCodes.BadInput;
            }

            var (accountList, accountsError) = ParseAccounts(parseResult.GetValue(accounts));
            if (accountsError is not null)
            {
                error.WriteLine($"tradestore: --accounts: {accountsError}");
                return ExitCodes.BadInput;
            }

            var (key, hash) = ApiKeyHash.Generate();
            ApiKeyHash.TryParseKey(key, out var id, out _);
            keyName ??= "key-" + id;
            var selectedRole = parseResult.GetValue(role)!;
            var output = parseResult.InvocationConfiguration.Output;
            output.WriteLine($"API key (shown once; send it as 'Authorization: Bearer <key>'):");
            output.WriteLine(key);
            output.WriteLine();
            output.WriteLine("Add to secrets.toml (mode 0600):");
            output.WriteLine();
            output.WriteLine("[[Security.ApiKeys]]");
            output.WriteLine($"Name = \"{keyName}\"");
            output.WriteLine($"Hash = \"{hash}\"");
            output.WriteLine($"Role = \"{selectedRole}\"");
            output.WriteLine($"Accounts = [{string.Join(", ", accountList.Select(a => $"\"{a}\""))}]");
            output.WriteLine();
            output.WriteLine("or to the environment or .env (replace 0 with the next free index when keys exist):");
            output.WriteLine();
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__NAME={Quoted(keyName)}");
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__HASH={Quoted(hash)}");
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__ROLE={Quoted(selectedRole)}");
            for (var i = 0; i < accountList.Length; i++)
            {
                output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__ACCOUNTS__{i}={Quoted(accountList[i])}");
            }

            return ExitCodes.Success;
        });

        return new Command("keys", "Manage API keys.") { create };
    }

    /// <summary>
    /// The accounts of <c>--accounts</c>, or why it is refused. By design an empty value or an empty item is refused, not
    /// dropped: a key without accounts may touch every account, so <c>--accounts "$DESK_ACCOUNTS"</c> with the variable
    /// unset (or <c>A,,B</c> with one missing) silently made a key wider than meant. An account must be spelled as a
    /// trade's account can be (<see cref="TradeValidation.Account"/>): a key for any other name could never touch a trade.
    /// </summary>
    private static (string[] Accounts, string? Error) ParseAccounts(string? text)
    {
        if (text is null)
        {
            return ([], null);
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            return ([], "the value is empty (an unset shell variable?). A key without accounts may touch every account: to make one, omit --accounts.");
        }

        var list = text.Split(',', StringSplitOptions.TrimEntries);
        if (list.Any(account => account.Length == 0))
        {
            return ([], $"'{text}' has an empty item (two commas in a row, or a comma at either end); list the accounts separated by single commas.");
        }

        return list.Select(account => (account, TradeValidation.Account(account))).FirstOrDefault(a => a.Item2 is not null) is ({ } bad, { } invalid)
            ? ([], $"'{bad}' is not an account: {invalid.Message}")
            : (list, null);
    }

    /// <summary>
    /// A value single-quoted, so a line pastes into a shell as it is (a hash's <c>$</c> would expand unquoted) and reads the
    /// same from <c>.env</c>. No value printed here can hold a quote: names, roles, hashes and accounts are checked first.
    /// </summary>
    private static string Quoted(string value) => $"'{value}'";

    /// <summary>
    /// What <c>--name</c> takes, said by its help and by its refusal alike; <see cref="NamePattern"/> is the same rule
    /// (a test holds the two together).
    /// </summary>
    internal const string NameRule = "letters, digits, '.', '_' or '-' (1-64 characters)";

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    internal static partial Regex NamePattern();
}
