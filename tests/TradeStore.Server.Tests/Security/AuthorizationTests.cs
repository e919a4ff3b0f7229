using TradeStore.Core.Security;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using TradeStore.Server.Configuration;

namespace TradeStore.Server.Tests.Security;

/// <summary>Every endpoint × every caller gives the documented status; scoped keys stay inside their accounts.</summary>
public sealed class AuthorizationTests(SecuredHost host) : IClassFixture<SecuredHost>
{
    private const string DuplicateA = """{"tradeId":"T-A","account":"ACC-A","symbol":"AAPL","side":"buy","quantity":1,"price":1}""";

    // Each write is authorized for a trader of ACC-A but refused by the engine (duplicate, stale version), so the table changes nothing.
    private static readonly (string Name, HttpMethod Method, string Path, string? Body, int Allowed, string MinimumRole)[] Endpoints =
    [
        ("create", HttpMethod.Post, "/v1/trades", DuplicateA, 409, "trader"),
        ("batch", HttpMethod.Post, "/v1/trades/batch", "[" + DuplicateA + "]", 200, "trader"),
        ("amend", HttpMethod.Post, "/v1/trades/T-A/amend", """{"expectedVersion":999,"price":2}""", 409, "trader"),
        ("fill", HttpMethod.Post, "/v1/trades/T-A/fill", """{"quantity":1,"price":1,"expectedVersion":999}""", 409, "trader"),
        ("cancel", HttpMethod.Post, "/v1/trades/T-A/cancel", """{"expectedVersion":999}""", 409, "trader"),
        ("delete", HttpMethod.Delete, "/v1/trades/T-A?expectedVersion=999", null, 409, "trader"),
        ("get", HttpMethod.Get, "/v1/trades/T-A", null, 200, "reader"),
        ("history", HttpMethod.Get, "/v1/trades/T-A/history", null, 200, "reader"),
        ("list", HttpMethod.Get, "/v1/trades?account=ACC-A", null, 200, "reader"),
        ("positions", HttpMethod.Get, "/v1/positions?account=ACC-A", null, 200, "reader"),
        ("query", HttpMethod.Post, "/v1/query", """{"sql":"SELECT 1 AS one"}""", 200, "admin"),
        ("metrics", HttpMethod.Get, "/metrics", null, 200, "loopback"),
        ("live", HttpMethod.Get, "/health/live", null, 200, "open"),
        ("ready", HttpMethod.Get, "/health/ready", null, 200, "open"),
    ];

    private static readonly Dictionary<Caller, string> Roles = new()
    {
        [Caller.Admin] = "admin",
        [Caller.TraderA] = "trader",
        [Caller.TraderB] = "trader",
        [Caller.ReaderA] = "reader",
        [Caller.Reader] = "reader",
        [Caller.Anonymous] = "",
        [Caller.WrongKey] = "",
    };

    public static TheoryData<string, Caller> Cases()
    {
        var data = new TheoryData<string, Caller>();
        foreach (var endpoint in Endpoints)
        {
            // TraderB (ACC-B) is for the cross-account cases; the matrix's trades are ACC-A's.
            foreach (var caller in Enum.GetValues<Caller>().Where(c => c != Caller.TraderB))
            {
                data.Add(endpoint.Name, caller);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Endpoint_EachCaller_DocumentedStatus(string name, Caller caller)
    {
        var endpoint = Endpoints.Single(e => e.Name == name);
        var role = Roles[caller];
        var expected = endpoint.MinimumRole switch
        {
            // A key that is sent and refused is 401 also on loopback; only health answers it (as a caller without a key).
            "loopback" when caller == Caller.WrongKey => 401,
            "open" or "loopback" => endpoint.Allowed, // test callers are on loopback
            _ when role == "" => 401,
            "admin" => role == "admin" ? endpoint.Allowed : 403,
            "trader" => role is "admin" or "trader" ? endpoint.Allowed : 403,
            _ => endpoint.Allowed,
        };

        var answer = await host.Client(caller).SendAsync(endpoint.Method, endpoint.Path, endpoint.Body);

        Assert.True(expected == answer.Code, $"{name} as {caller}: expected {expected}, got {answer.Code} {answer.Raw}");
        if (expected is 401 or 403)
        {
            Assert.Equal("application/problem+json", answer.ContentType);
        }

        if (expected == 401)
        {
            Assert.Contains("Bearer", answer.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ScopedKey_OtherAccountsTrade_ReadsAndCommands404AndNothingChanges()
    {
        var trader = host.Client(Caller.TraderA);
        var admin = host.Client(Caller.Admin);
        var before = (await admin.GetAsync("/v1/trades/T-B")).Raw;

        Assert.Equal(404, (await trader.GetAsync("/v1/trades/T-B")).Code);
        Assert.Equal(404, (await trader.GetAsync("/v1/trades/T-B/history")).Code);
        Assert.Equal(404, (await trader.GetAsync("/v1/trades/T-B/history?limit=1")).Code);
        Assert.Equal(404, (await host.Client(Caller.ReaderA).GetAsync("/v1/trades/T-B")).Code);
        Assert.Equal(404, (await trader.PostAsync("/v1/trades/T-B/amend", """{"expectedVersion":1,"price":2}""")).Code);
        Assert.Equal(404, (await trader.PostAsync("/v1/trades/T-B/fill", """{"quantity":1,"price":1}""")).Code);
        Assert.Equal(404, (await trader.PostAsync("/v1/trades/T-B/cancel", null)).Code);
        Assert.Equal(404, (await trader.DeleteAsync("/v1/trades/T-B")).Code);
        var create = await trader.PostAsync("/v1/trades", ApiClient.CreateBody("SCOPE-B1", account: "ACC-B"));
        Assert.Equal(403, create.Code);
        Assert.Equal("account", create.Field);

        Assert.Equal(before, (await admin.GetAsync("/v1/trades/T-B")).Raw);
        Assert.Equal(404, (await admin.GetAsync("/v1/trades/SCOPE-B1")).Code);
    }

    [Fact]
    public async Task ScopedKey_Lists_OnlyItsAccounts()
    {
        var trader = host.Client(Caller.TraderA);

        var otherList = await trader.GetAsync("/v1/trades?account=ACC-B");
        var ownList = await trader.GetAsync("/v1/trades");
        var otherPositions = await trader.GetAsync("/v1/positions?account=ACC-B");
        var ownPositions = await trader.GetAsync("/v1/positions");

        // Refused naming the account, as a create in it and its change feed are: an empty page hid a mistyped account.
        Assert.Equal(403, otherList.Code);
        Assert.Equal("account", otherList.Field);
        Assert.Contains("it reads only ACC-A", otherList.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.All(ownList.Body.GetProperty("items").EnumerateArray(), t => Assert.Equal("ACC-A", t.GetProperty("account").GetString()));
        Assert.Contains(ownList.Body.GetProperty("items").EnumerateArray(), t => t.GetProperty("tradeId").GetString() == "T-A");
        Assert.Equal(403, otherPositions.Code);
        Assert.Equal("account", otherPositions.Field);
        var unknown = await trader.GetAsync("/v1/trades?account=NO-SUCH-ACCOUNT"); // the same answer for an account without trades
        Assert.Equal((403, "account"), (unknown.Code, unknown.Field));
        Assert.Equal(otherList.Body.GetProperty("detail").GetString()!.Replace("ACC-B", "NO-SUCH-ACCOUNT", StringComparison.Ordinal), unknown.Body.GetProperty("detail").GetString());
        Assert.All(ownPositions.Body.GetProperty("items").EnumerateArray(), p => Assert.Equal("ACC-A", p.GetProperty("account").GetString()));
        var all = await host.Client(Caller.Admin).GetAsync("/v1/trades?account=ACC-B");
        Assert.Contains(all.Body.GetProperty("items").EnumerateArray(), t => t.GetProperty("tradeId").GetString() == "T-B");
    }

    [Fact]
    public async Task ScopedKey_Batch_EachItemCheckedOnItsOwn()
    {
        var trader = host.Client(Caller.TraderA);
        var batch = $"[{ApiClient.CreateBody("SCOPE-A2", account: "ACC-A")},{ApiClient.CreateBody("SCOPE-B2", account: "ACC-B")},{{\"type\":\"fill\",\"tradeId\":\"T-B\",\"quantity\":1,\"price\":1}}]";

        var answer = await trader.PostAsync("/v1/trades/batch", batch);

        Assert.Equal(200, answer.Code);
        var items = answer.Body.GetProperty("results").EnumerateArray().Select(i => i.GetProperty("status").GetInt32()).ToList();
        Assert.Equal([201, 403, 404], items);
        var admin = host.Client(Caller.Admin);
        Assert.Equal(200, (await admin.GetAsync("/v1/trades/SCOPE-A2")).Code);
        Assert.Equal(404, (await admin.GetAsync("/v1/trades/SCOPE-B2")).Code);
        Assert.Equal("0", (await admin.GetAsync("/v1/trades/T-B")).RawOf("filledQuantity"));
    }

    [Fact]
    public async Task ScopedKey_UnknownTrade_404AndBatchMayCreateThenFill()
    {
        var trader = host.Client(Caller.TraderA);
        var batch = $"[{ApiClient.CreateBody("SCOPE-A3", account: "ACC-A")},{{\"type\":\"fill\",\"tradeId\":\"SCOPE-A3\",\"quantity\":40,\"price\":10}},{{\"type\":\"fill\",\"tradeId\":\"NOWHERE\",\"quantity\":1,\"price\":1}}]";

        var fill = await trader.PostAsync("/v1/trades/NOWHERE/fill", """{"quantity":1,"price":1}""");
        var answer = await trader.PostAsync("/v1/trades/batch", batch);

        Assert.Equal(404, fill.Code);
        var statuses = answer.Body.GetProperty("results").EnumerateArray().Select(i => i.GetProperty("status").GetInt32()).ToList();
        Assert.Equal([201, 200, 404], statuses);
        Assert.Equal("40", (await trader.GetAsync("/v1/trades/SCOPE-A3")).RawOf("filledQuantity"));
    }

    [Theory]
    [InlineData("version", "7")]
    [InlineData("status", "\"filled\"")]
    [InlineData("seq", "1")]
    [InlineData("recordedAt", "\"2020-01-01T00:00:00Z\"")]
    [InlineData("filledQuantity", "100")]
    public async Task Create_ServerOwnedProperty_RefusedByNameAndNothingCreated(string property, string value)
    {
        var admin = host.Client(Caller.Admin);
        var tradeId = "MASS-" + property;

        var answer = await admin.PostAsync("/v1/trades", ApiClient.CreateBody(tradeId, extra: $",\"{property}\":{value}"));

        Assert.Equal(400, answer.Code);
        Assert.Equal(property, answer.Field);
        Assert.Equal(404, (await admin.GetAsync("/v1/trades/" + tradeId)).Code);
    }

    [Theory]
    [InlineData("/v1/trades/T-A/amend", """{"expectedVersion":1,"price":2,"version":9}""", "version")]
    [InlineData("/v1/trades/T-A/amend", """{"expectedVersion":1,"status":"cancelled"}""", "status")]
    [InlineData("/v1/trades/T-A/fill", """{"quantity":1,"price":1,"seq":1}""", "seq")]
    [InlineData("/v1/trades/T-A/cancel", """{"recordedAt":"2020-01-01T00:00:00Z"}""", "recordedAt")]
    public async Task Command_ServerOwnedProperty_RefusedAndTradeUnchanged(string path, string body, string property)
    {
        var admin = host.Client(Caller.Admin);
        var before = (await admin.GetAsync("/v1/trades/T-A")).Raw;

        var answer = await admin.PostAsync(path, body);
        var batch = await admin.PostAsync("/v1/trades/batch", $"[{{\"type\":\"cancel\",\"tradeId\":\"T-A\",\"{property}\":1}}]");

        Assert.Equal(400, answer.Code);
        Assert.Equal(property, answer.Field);
        Assert.Equal(400, batch.Body.GetProperty("results")[0].GetProperty("status").GetInt32());
        Assert.Equal(before, (await admin.GetAsync("/v1/trades/T-A")).Raw);
    }

    [Fact]
    public async Task Query_ReadersAllowed_UnscopedReader200ScopedKey403()
    {
        using var directory = new TradeStore.TestSupport.TempDirectory();
        var (key, hash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        var (readerKey, readerHash) = TradeStore.Core.Security.ApiKeyHash.Generate();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__QUERY__ALLOWREADERS"] = "true",
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "scoped-reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__0__ACCOUNTS__0"] = "ACC-A",
            ["TRADESTORE__SECURITY__APIKEYS__1__NAME"] = "reader",
            ["TRADESTORE__SECURITY__APIKEYS__1__HASH"] = readerHash,
            ["TRADESTORE__SECURITY__APIKEYS__1__ROLE"] = "reader",
        });
        var client = new ApiClient(app.GetTestClient(key));

        var answer = await client.PostAsync("/v1/query", """{"sql":"SELECT * FROM trade_state"}""");
        var unscoped = await new ApiClient(app.GetTestClient(readerKey)).PostAsync("/v1/query", """{"sql":"SELECT * FROM trade_state"}""");

        Assert.Equal(200, unscoped.Code);
        Assert.Equal(403, answer.Code);
        Assert.Equal("urn:tradestore:problem:forbidden", answer.ProblemType);
    }

    [Fact]
    public async Task Metrics_NonLoopbackWithoutAdminKey_Refused()
    {
        Assert.Equal(401, (await host.Client(Caller.Anonymous, "10.1.2.3").GetAsync("/metrics")).Code);
        Assert.Equal(403, (await host.Client(Caller.Reader, "10.1.2.3").GetAsync("/metrics")).Code);
        Assert.Equal(200, (await host.Client(Caller.Admin, "10.1.2.3").GetAsync("/metrics")).Code);
    }

    /// <summary>A reverse proxy on this machine connects from loopback: the callers it forwards for are not loopback callers.</summary>
    [Fact]
    public async Task Metrics_LoopbackConnectionThroughProxy_NeedsAdminKey()
    {
        Assert.Equal(401, (await Proxied(Caller.Anonymous)).Code);
        Assert.Equal(403, (await Proxied(Caller.Reader)).Code);
        Assert.Equal(200, (await Proxied(Caller.Admin)).Code);

        Task<ApiAnswer> Proxied(Caller caller)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Add("X-Forwarded-For", "203.0.113.7");
            return host.Client(caller).SendAsync(request);
        }
    }

    [Fact]
    public async Task Metrics_LoopbackWrongKey_401ProblemWhileNoKey200()
    {
        var wrong = await host.Client(Caller.WrongKey).GetAsync("/metrics");
        var none = await host.Client(Caller.Anonymous).GetAsync("/metrics");

        Assert.Equal(401, wrong.Code);
        Assert.Equal("application/problem+json", wrong.ContentType);
        Assert.Equal("urn:tradestore:problem:unauthorized", wrong.ProblemType);
        Assert.Contains("not valid", wrong.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("tradestore_", wrong.Raw, StringComparison.Ordinal);
        Assert.Equal(200, none.Code);
        Assert.Contains("tradestore_", none.Raw, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Open")]
    [InlineData("Admin")]
    public async Task Metrics_WrongKeyInAnyAccessMode_401(string access)
    {
        using var directory = new TradeStore.TestSupport.TempDirectory();
        var (_, hash) = ApiKeyHash.Generate();
        var (wrongKey, _) = ApiKeyHash.Generate();
        await using var app = await TestHostFactory.StartAsync(directory.Path, new()
        {
            ["TRADESTORE__SECURITY__METRICS"] = access,
            ["TRADESTORE__SECURITY__APIKEYS__0__NAME"] = "admin",
            ["TRADESTORE__SECURITY__APIKEYS__0__HASH"] = hash,
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "admin",
        });

        var wrong = await new ApiClient(app.GetTestClient(wrongKey)).GetAsync("/metrics");
        var none = await new ApiClient(app.GetTestServer().CreateClient()).GetAsync("/metrics");

        Assert.Equal(401, wrong.Code);
        Assert.Equal("urn:tradestore:problem:unauthorized", wrong.ProblemType);
        Assert.Equal(access == "Open" ? 200 : 401, none.Code);
    }

    [Fact]
    public async Task Secrets_NeverInLogsMetricsOrConfigShow()
    {
        // Wrong keys, right keys and refusals all pass through the logs.
        foreach (var caller in Enum.GetValues<Caller>())
        {
            await host.Client(caller).GetAsync("/v1/trades/T-A");
            await host.Client(caller).PostAsync("/v1/query", """{"sql":"SELECT * FROM read_csv('/etc/passwd')"}""");
        }

        var metrics = (await host.Client(Caller.Admin).GetAsync("/metrics")).Raw;
        var settings = TradeStoreSettings.Bind(host.App.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>());
        var printed = ConfigurationPrinter.ToJson(settings);
        // The secret part as the server parses it: a base64url secret may itself contain '_', so cutting at the last
        // '_' could leave a two-letter "secret" that any log line might contain by chance.
        var secrets = host.Keys.Values.SelectMany(k => new[] { k, ApiKeyHash.TryParseKey(k, out _, out var secret) ? secret : k }).Concat(host.Hashes).ToList();
        Assert.All(secrets, s => Assert.True(s.Length >= 40, $"'{s}' is too short to be a whole secret"));

        Assert.Contains(host.Logs.Lines, l => l.Contains("[1202]", StringComparison.Ordinal)); // the refused key was logged, without the key
        Assert.Contains("\"Hash\": \"***\"", printed, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(host.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(secret, metrics, StringComparison.Ordinal);
            Assert.DoesNotContain(secret, printed, StringComparison.Ordinal);
        }
    }
}
