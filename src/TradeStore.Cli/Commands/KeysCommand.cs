using System.CommandLine;
using System.Text.RegularExpressions;
using TradeStore.Core.Security;

namespace TradeStore.Cli.Commands;

/// <summary><c>tradestore keys new</c>: makes an API key, prints it once, and prints the configuration that accepts it (the hash, never the key).</summary>
public static partial class KeysCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "reader (reads), trader (reads and writes) or admin (everything, including SQL).", Required = true };
        role.AcceptOnlyFromAmong([.. ApiRoles.All]);
        var accounts = new Option<string?>("--accounts") { Description = "Comma-separated accounts the key may touch; omitted means every account.", HelpName = "ACC1,ACC2" };
        var name = new Option<string?>("--name") { Description = "A name for logs and error messages (default key-<id>).", HelpName = "NAME" };
        var create = new Command("new", "Create an API key. The key is printed once: store it now; the configuration holds only its salted hash.")
        {
            role,
            accounts,
            name,
        };
        create.SetAction(parseResult =>
        {
            var error = parseResult.InvocationConfiguration.Error;
            var accountList = (parseResult.GetValue(accounts) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var keyName = parseResult.GetValue(name);
            if (keyName is not null && !NamePattern().IsMatch(keyName))
            {
                error.WriteLine("tradestore: --name: use letters, digits, '.', '_' or '-' (1-64 characters).");
                return ExitCodes.BadInput;
            }

            if (accountList.FirstOrDefault(a => a.Contains('"', StringComparison.Ordinal) || a.Contains('\\', StringComparison.Ordinal)) is { } bad)
            {
                error.WriteLine($"tradestore: --accounts: '{bad}' is not an account.");
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
            output.WriteLine("or to the environment (replace 0 with the next free index when keys exist):");
            output.WriteLine();
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__NAME={keyName}");
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__HASH={hash}");
            output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__ROLE={selectedRole}");
            for (var i = 0; i < accountList.Length; i++)
            {
                output.WriteLine($"TRADESTORE__SECURITY__APIKEYS__0__ACCOUNTS__{i}={accountList[i]}");
            }

            return ExitCodes.Success;
        });

        return new Command("keys", "Manage API keys.") { create };
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex NamePattern();
}
