using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using TradeStore.Core.Options;
using TradeStore.Server.Configuration;
using TradeStore.TestSupport;

namespace TradeStore.Server.Tests;

public sealed partial class ConfigurationTests : IDisposable
{
    private readonly TempDirectory _bin = new("bin");
    private readonly TempDirectory _work = new("work");

    public void Dispose()
    {
        _bin.Dispose();
        _work.Dispose();
    }

    [Fact]
    public void Build_NothingConfigured_EmbeddedDefaults()
    {
        var settings = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs()));

        Assert.Equal("./data", settings.Storage.DataDirectory);
        Assert.True(settings.Storage.AutoMigrate);
        Assert.Equal("http://127.0.0.1:5080", settings.Server.Urls);
        Assert.False(settings.Redis.Enabled);
        Assert.False(settings.ClickHouse.Enabled);
    }

    [Fact]
    public void Build_EveryLayerSetsTheSameKey_HigherLayerWins()
    {
        const string key = "TRADESTORE__STORAGE__DATADIRECTORY";
        File.WriteAllText(_bin.File("appsettings.json"), """{"Storage":{"DataDirectory":"from-appsettings","AutoMigrate":false}}""");
        File.WriteAllText(_work.File("extra.json"), """{"Storage":{"DataDirectory":"from-config-file"},"Server":{"Urls":"http://127.0.0.1:6000"}}""");
        WriteSecrets("[Storage]\nDataDirectory = \"from-secrets\"\n[Redis]\nPassword = \"s3cret\"\n");
        File.WriteAllText(_work.File(".env"), $"{key}=from-dotenv\nTRADESTORE__REDIS__CONNECTION=127.0.0.1:6390\n");

        string Resolve(ConfigurationInputs inputs) => TradeStoreSettings.Bind(TradeStoreConfiguration.Build(inputs)).Storage.DataDirectory;

        Assert.Equal("from-dotenv", Resolve(Inputs() with { ConfigFile = "extra.json" }));
        Assert.Equal("from-env", Resolve(Inputs(env: new() { [key] = "from-env" }) with { ConfigFile = "extra.json" }));
        Assert.Equal("from-flag", Resolve(Inputs(env: new() { [key] = "from-env" }) with
        {
            ConfigFile = "extra.json",
            CommandLine = new Dictionary<string, string?> { ["Storage:DataDirectory"] = "from-flag" },
        }));

        File.Delete(_work.File(".env"));
        Assert.Equal("from-secrets", Resolve(Inputs() with { ConfigFile = "extra.json" }));
        File.Delete(_work.File("secrets.toml"));
        Assert.Equal("from-config-file", Resolve(Inputs() with { ConfigFile = "extra.json" }));
        Assert.Equal("from-appsettings", Resolve(Inputs()));
    }

    [Fact]
    public void Build_LowerLayerKeyNotOverridden_Kept()
    {
        File.WriteAllText(_bin.File("appsettings.json"), """{"Storage":{"AutoMigrate":false}}""");
        var settings = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__STORAGE__DATADIRECTORY"] = "x" })));

        Assert.False(settings.Storage.AutoMigrate);
        Assert.Equal("x", settings.Storage.DataDirectory);
    }

    [Fact]
    public void Build_SecretsToml_ProvidesCredentials()
    {
        WriteSecrets("[ClickHouse]\nUser = \"analyst\"\nPassword = \"pa55\"\n[Redis]\nPassword = \"r3d\"\n");

        var settings = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs()));

        Assert.Equal("analyst", settings.ClickHouse.User);
        Assert.Equal("pa55", settings.ClickHouse.Password);
        Assert.Equal("r3d", settings.Redis.Password);
    }

    [Fact]
    public void Build_SecretsTomlReadableByOthers_RefusedWithChmodAdvice()
    {
        var path = _work.File("secrets.toml");
        File.WriteAllText(path, "[Redis]\nPassword = \"x\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs()));

        Assert.Contains("0644", error.Message);
        Assert.Contains("chmod 600", error.Message);
    }

    [Theory]
    [InlineData("[Redis]\nPassword = \"unterminated-hunter2\n", "line 2, column 33: Invalid newline in a string")]
    [InlineData("[Redis]\nPassword = hunter2\n", "line 2, column 12: Unexpected token `…` while parsing a value")]
    [InlineData("[Redis\nPassword = \"hunter2\"\n", "line 1, column 7: Expected `]`")]
    public void Build_SecretsTomlMalformed_ErrorGivesPositionAndTomlynReasonWithoutTheSecret(string toml, string reason)
    {
        WriteSecrets(toml);

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs()));

        Assert.Contains("not valid TOML", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.DoesNotContain("hunter", error.Message); // not even the part of the secret Tomlyn quotes
    }

    [Fact]
    public void Build_UnknownSectionInEnvironmentOrConfigFile_ErrorNamesEachSection()
    {
        var config = _work.File("tradestore.json");
        File.WriteAllText(config, """{ "Enginee": { "MaxBatchSize": 10 } }""");

        var error = Assert.Throws<ConfigurationException>(() =>
            TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__FOO__BAR"] = "1" }) with { ConfigFile = config }));

        Assert.Contains("unknown configuration sections Enginee, FOO", error.Message);
        Assert.Contains("Engine", error.Message); // the known sections are listed
    }

    [Fact]
    public void Build_OnlyKnownSections_Accepted()
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__ENGINE__MAXBATCHSIZE"] = "10",
            ["TRADESTORE__LOGGING__LOGLEVEL__DEFAULT"] = "Warning",
        }));

        Assert.Equal(10, TradeStoreSettings.Bind(configuration).Engine.MaxBatchSize);
    }

    /// <summary>Kestrel:Limits, which ASP.NET Core does not read from configuration itself, is bound (and checked) by TradeStore.</summary>
    [Fact]
    public void Bind_KestrelLimits_AcceptedAndApplied()
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__KESTREL__LIMITS__KEEPALIVETIMEOUT"] = "00:00:07",
            ["TRADESTORE__KESTREL__LIMITS__MAXCONCURRENTCONNECTIONS"] = "500",
            ["TRADESTORE__KESTREL__ENDPOINTS__MAIN__URL"] = "http://127.0.0.1:5999",
        }));
        var limits = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits();

        TradeStoreSettings.Bind(configuration);
        KestrelLimits.Apply(configuration, limits);

        Assert.Equal(TimeSpan.FromSeconds(7), limits.KeepAliveTimeout);
        Assert.Equal(500, limits.MaxConcurrentConnections);
    }

    /// <summary>
    /// Without Kestrel:Limits:MaxConcurrentConnections the server takes connections up to what its open-file limit leaves
    /// (ConnectionLimit; Kestrel's own default, no limit, let connections exhaust the descriptors and abort the process);
    /// an empty value asks for no limit.
    /// </summary>
    [Fact]
    public void Apply_MaxConcurrentConnectionsNotGiven_BoundByTheOpenFileLimit_EmptyMeansNone()
    {
        var limits = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits();
        KestrelLimits.Apply(TradeStoreConfiguration.Build(Inputs()), limits);
        var unlimited = new Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits();
        KestrelLimits.Apply(TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__KESTREL__LIMITS__MAXCONCURRENTCONNECTIONS"] = "" })), unlimited);

        var openFiles = ConnectionLimit.OpenFiles();
        Assert.Equal(openFiles is { } files ? ConnectionLimit.For(files) : null, limits.MaxConcurrentConnections);
        Assert.Null(unlimited.MaxConcurrentConnections);
        Assert.Equal(1024, ConnectionLimit.For(2048));
        Assert.Equal(15000, ConnectionLimit.For(20000));
        Assert.Equal(49152, ConnectionLimit.For(65536));
        Assert.Equal(512, ConnectionLimit.For(1024));
        // A small limit keeps ConnectionLimit.ServerFiles for the server itself (an idle one holds 275): half of 512 went to
        // connections until session 37, and 500 of them aborted the process.
        Assert.Equal(128, ConnectionLimit.For(512));
        Assert.Equal(ConnectionLimit.MinConnections, ConnectionLimit.For(384));
        Assert.Equal(ConnectionLimit.MinConnections, ConnectionLimit.For(2));
        Assert.Equal("at most 15000 at once, one more is closed as it arrives", ConnectionLimit.Describe(15000));
        Assert.Equal("no limit, none is closed", ConnectionLimit.Describe(unlimited.MaxConcurrentConnections));
    }

    [Fact]
    public void Build_ConfigFileMissing_NamesTheFile()
    {
        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs() with { ConfigFile = "nope.json" }));

        Assert.Contains("--config", error.Message);
        Assert.Contains("nope.json", error.Message);
    }

    [Fact]
    public void Build_ConfigFileIsADirectory_SaysSo()
    {
        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs() with { ConfigFile = _work.Path }));

        Assert.Equal($"--config: {_work.Path} is a directory, not a file.", error.Message);
    }

    /// <summary>Files that exist but cannot be read: /proc/self/mem fails every read with EIO, even for root (and is mode 0600, as secrets must be).</summary>
    [Theory]
    [InlineData("config")]
    [InlineData("secrets")]
    public void Build_FileUnreadable_ConfigurationErrorNamingIt(string which)
    {
        const string Unreadable = "/proc/self/mem";
        var inputs = which == "config"
            ? Inputs() with { ConfigFile = Unreadable }
            : Inputs() with { Environment = new Dictionary<string, string> { [ConfigurationInputs.SecretsFileVariable] = Unreadable } };

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(inputs));

        Assert.Contains(Unreadable, error.Message, StringComparison.Ordinal);
        Assert.Contains("cannot be read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ConfigFileNotJson_NamesTheFileAndThePosition()
    {
        var file = Path.Combine(_work.Path, "broken.json");
        File.WriteAllText(file, "{\"Server\": {\n");

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs() with { ConfigFile = file }));

        Assert.Contains(file, error.Message, StringComparison.Ordinal);
        Assert.Contains("LineNumber", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("TRADESTORE__CLICKHOUSE__URL", "not-a-url", "ClickHouse:Url")]
    [InlineData("TRADESTORE__CLICKHOUSE__URL", "ftp://host", "ClickHouse:Url")]
    [InlineData("TRADESTORE__CLICKHOUSE__DATABASE", "drop table;", "ClickHouse:Database")]
    [InlineData("TRADESTORE__SERVER__URLS", "127.0.0.1:80", "Server:Urls")]
    [InlineData("TRADESTORE__SERVER__SHUTDOWNTIMEOUT", "00:00:00", "Server:ShutdownTimeout")]
    [InlineData("TRADESTORE__STORAGE__DATADIRECTORY", "", "Storage:DataDirectory")]
    // A Latin-1 byte in the path, as .NET reads it: another directory than the one named (session 37).
    [InlineData("TRADESTORE__STORAGE__DATADIRECTORY", "/var/lib/caf\uFFFD", "Storage:DataDirectory: is not UTF-8: '/var/lib/caf\uFFFD' has bytes that are not UTF-8")]
    [InlineData("TRADESTORE__STORAGE__AUTOMIGRATE", "maybe", "Storage:AutoMigrate")]
    [InlineData("TRADESTORE__STORAGE__CHECKPOINTTHRESHOLD", "64 elephants", "Storage:CheckpointThreshold")]
    [InlineData("TRADESTORE__STORAGE__CHECKPOINTTHRESHOLD", "64MB'; DROP TABLE trade_events; --", "Storage:CheckpointThreshold")]
    [InlineData("TRADESTORE__STORAGE__DURABILITY", "sometimes", "Storage:Durability")]
    [InlineData("TRADESTORE__STORAGE__DURABILITY", "7", "Storage:Durability")]
    [InlineData("TRADESTORE__STORAGE__DURABILITY", "1", "Storage:Durability")]
    [InlineData("TRADESTORE__STORAGE__DURABILITY", "fsync,os", "Storage:Durability")]
    [InlineData("TRADESTORE__SECURITY__METRICS", "2", "Security:Metrics")]
    [InlineData("TRADESTORE__STORAGE__JOURNALSEGMENTBYTES", "4096", "Storage:JournalSegmentBytes")]
    // The generated validators' own words ("The field StorageOptions.JournalSegmentBytes must be …", a C# type) said as ours, with the value.
    [InlineData("TRADESTORE__STORAGE__JOURNALSEGMENTBYTES", "3000000000", "Storage:JournalSegmentBytes: must be between 65536 and 1073741824 (1 GiB) bytes, got 3000000000.")]
    [InlineData("TRADESTORE__API__MAXBATCHSIZE", "0", "Api:MaxBatchSize: must be between 1 and 100000, got 0.")]
    [InlineData("TRADESTORE__CLUSTER__SYNCREPLICAS", "9", "Cluster:SyncReplicas: must be between 0 and 8, got 9.")]
    [InlineData("TRADESTORE__ENGINE__MAXAPPLYBACKLOG", "0", "Engine:MaxApplyBacklog")]
    [InlineData("TRADESTORE__ENGINE__QUEUECAPACITY", "999", "Engine:QueueCapacity: must be at least Api:MaxBatchSize (1000), got 999: a batch request queues each of its commands")]
    [InlineData("TRADESTORE__REDIS__HEALTHTIMEOUT", "soon", "Redis:HealthTimeout")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBTHREADS", "0", "Storage:DuckDbThreads")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBMEMORYLIMIT", "plenty", "Storage:DuckDbMemoryLimit")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBMEMORYLIMIT", "100000B", "Storage:DuckDbMemoryLimit: must be at least 64MB, got '100000B'")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBMEMORYLIMIT", "0.05 GiB", "Storage:DuckDbMemoryLimit: must be at least 64MB, got '0.05 GiB'")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBMAXTEMPSIZE", "unlimited", "Storage:DuckDbMaxTempSize")]
    [InlineData("TRADESTORE__STORAGE__DUCKDBMEMORYLIMIT", "2GB'; SET threads = 8; --", "Storage:DuckDbMemoryLimit")]
    [InlineData("TRADESTORE__CHANGES__MAXSUBSCRIBERS", "0", "Changes:MaxSubscribers")]
    [InlineData("TRADESTORE__CHANGES__MAXSUBSCRIBERSPERKEY", "0", "Changes:MaxSubscribersPerKey")]
    [InlineData("TRADESTORE__CHANGES__MAXLAGEVENTS", "lots", "Changes:MaxLagEvents")]
    [InlineData("TRADESTORE__CHANGES__HEARTBEATINTERVALL", "00:00:01", "HEARTBEATINTERVALL")]
    [InlineData("TRADESTORE__STORAGE__DATADIRECTROY", "typo", "DATADIRECTROY")]
    [InlineData("TRADESTORE__REDIS__CONNECTION", "127.0.0.1:abc", "Redis:Connection: names no endpoint")]
    [InlineData("TRADESTORE__REDIS__CONNECTION", "redis://127.0.0.1:6379", "Redis:Connection: is a URL")]
    [InlineData("TRADESTORE__REDIS__CONNECTION", "127.0.0.1:6379,nosuchoption=1", "Redis:Connection: ")]
    [InlineData("TRADESTORE__KESTREL__LIMITS__KEEPALIVETIMEOUT", "soon", "Kestrel:Limits:KeepAliveTimeout")]
    [InlineData("TRADESTORE__KESTREL__LIMITS__KEEPALIVETIMEOUT", "-00:00:01", "KeepAliveTimeout=-00:00:01")]
    [InlineData("TRADESTORE__KESTREL__LIMITS__MAXCONCURRENTCONNECTIONS", "abc", "Kestrel:Limits:MaxConcurrentConnections: must be a whole number, got 'abc'.")]
    [InlineData("TRADESTORE__KESTREL__LIMITS__MAXCONCURENTCONNECTIONS", "5", "MAXCONCURENTCONNECTIONS")]
    [InlineData("TRADESTORE__KESTREL__ADDSERVERHEADER", "false", "Kestrel:ADDSERVERHEADER: is not read")]
    [InlineData("TRADESTORE__KESTREL__LIMITS__MAXREQUESTBODYSIZE", "2000", "Kestrel:Limits:MaxRequestBodySize: is not used: each request's body is limited by Api:MaxRequestBodyBytes")]
    [InlineData("TRADESTORE__SECURITY__QUERY__MAXROWS", "0", "Security:Query:MaxRows: must be between 1 and 1000000, got 0.")]
    [InlineData("TRADESTORE__SECURITY__QUERY__TIMEOUT", "00:00:00.001", "Security:Query:Timeout: must be between")]
    [InlineData("TRADESTORE__SECURITY__QUERY__MAXCONCURRENT", "65", "Security:Query:MaxConcurrent: must be between 1 and 64, got 65.")]
    [InlineData("TRADESTORE__ENGINE__MAXBATCHSIZE", "abc", "Engine:MaxBatchSize: must be a whole number, got 'abc'.")]
    [InlineData("TRADESTORE__ENGINE__MAXBATCHSIZE", "99999999999", "Engine:MaxBatchSize: must be a whole number from -2147483648 to 2147483647, got '99999999999'.")]
    [InlineData("TRADESTORE__SERVER__METRICSENABLED", "yes", "Server:MetricsEnabled: must be true or false, got 'yes'.")]
    [InlineData("TRADESTORE__CLUSTER__LEASETTL", "3s", "Cluster:LeaseTtl: must be a duration written [d.]hh:mm:ss[.fff], such as 00:00:05 or 00:00:00.250, got '3s'.")]
    [InlineData("TRADESTORE__SECURITY__APIKEYS", "x", "Security:ApiKeys: is a list, got a single value; give each item its own index (Security:ApiKeys:0")]
    [InlineData("TRADESTORE__SECURITY__QUERY", "x", "Security:Query: is a section of settings (Security:Query:…), got a single value.")]
    public void Bind_BadValue_MessageNamesTheKey(string variable, string value, string expectedKey)
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { [variable] = value }));

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.Contains(expectedKey, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Bind_EmptyClickHouseUrlOrRedisConnection_SinkOffAsWhenUnset()
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__CLICKHOUSE__URL"] = "",
            ["TRADESTORE__REDIS__CONNECTION"] = "",
        }));

        var settings = TradeStoreSettings.Bind(configuration);

        Assert.False(settings.ClickHouse.Enabled);
        Assert.False(settings.Redis.Enabled);
    }

    [Fact]
    public void Bind_BlankClickHouseUrl_RefusedNamingTheKey()
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__CLICKHOUSE__URL"] = "   " }));

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.Contains("ClickHouse:Url", error.Message);
        Assert.Contains("is blank", error.Message);
    }

    [Theory]
    [InlineData("fsync", DurabilityMode.Fsync)]
    [InlineData("os", DurabilityMode.Os)]
    [InlineData("OS", DurabilityMode.Os)]
    public void Bind_Durability_ParsedCaseInsensitively(string value, DurabilityMode expected)
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__STORAGE__DURABILITY"] = value }));

        Assert.Equal(expected, TradeStoreSettings.Bind(configuration).Storage.Durability);
    }

    [Fact]
    public void ToJson_EngineAndChangesConfigured_ShownWithTheirValues()
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__ENGINE__MAXBATCHSIZE"] = "1234",
            ["TRADESTORE__CHANGES__MAXSUBSCRIBERS"] = "7",
        }));

        using var json = System.Text.Json.JsonDocument.Parse(ConfigurationPrinter.ToJson(TradeStoreSettings.Bind(configuration)));

        Assert.Equal(1234, json.RootElement.GetProperty("Engine").GetProperty("MaxBatchSize").GetInt32());
        Assert.Equal(7, json.RootElement.GetProperty("Changes").GetProperty("MaxSubscribers").GetInt32());
        Assert.Equal(1, json.RootElement.GetProperty("Storage").GetProperty("DuckDbThreads").GetInt32());
    }

    [Fact]
    public void ToJson_SecretsSet_RedactedEverywhere()
    {
        WriteSecrets("[ClickHouse]\nUser = \"analyst\"\nPassword = \"ch-pass-123\"\n[Redis]\nPassword = \"redis-pass-456\"\n");
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__REDIS__CONNECTION"] = "127.0.0.1:6379,password=inline-pass-789",
            ["TRADESTORE__CLICKHOUSE__URL"] = "http://127.0.0.1:8123",
        }));

        var json = ConfigurationPrinter.ToJson(TradeStoreSettings.Bind(configuration));

        Assert.DoesNotContain("ch-pass-123", json);
        Assert.DoesNotContain("redis-pass-456", json);
        Assert.DoesNotContain("inline-pass-789", json);
        Assert.DoesNotContain("analyst", json);
        Assert.Contains("127.0.0.1:6379", json);
        Assert.Contains("http://127.0.0.1:8123", json);
        Assert.Contains(ConfigurationPrinter.Redacted, json);
    }

    /// <summary>
    /// A key added to secrets.toml (its <c>[[Security.ApiKeys]]</c> is entry 0) over a <c>--config</c> that already has a
    /// key at entry 0: the layers used to merge field by field, so the older key vanished and the new one got the older
    /// one's extra accounts (<c>["X", "ACC2", "ACC3"]</c> for a key made for <c>X</c>), without a word.
    /// </summary>
    [Fact]
    public void Build_ApiKeyEntryGivenByTwoLayers_RefusedNamingTheEntryAndBothLayers()
    {
        var desk = Core.Security.ApiKeyHash.Generate().Hash;
        var added = Core.Security.ApiKeyHash.Generate().Hash;
        File.WriteAllText(_work.File("keys.json"),
            $$$"""{"Security":{"ApiKeys":[{"Name":"desk-a","Hash":"{{{desk}}}","Role":"trader","Accounts":["ACC1","ACC2","ACC3"]}]}}""");
        WriteSecrets($"[[Security.ApiKeys]]\nName = \"desk-x\"\nHash = \"{added}\"\nRole = \"trader\"\nAccounts = [\"X\"]\n");

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs() with { ConfigFile = "keys.json" }));

        Assert.Contains("Security:ApiKeys:0:Name: given differently by --config ", error.Message);
        Assert.Contains($"keys.json and {_work.File("secrets.toml")}.", error.Message);
        Assert.Contains("Security:ApiKeys:0:Hash: given differently", error.Message);
        Assert.Contains("Security:ApiKeys:0:Accounts: given differently", error.Message);
        Assert.DoesNotContain(added, error.Message);
        Assert.DoesNotContain(desk, error.Message);
    }

    [Fact]
    public void Build_ApiKeyEntrySplitOverLayersOrKeysAtDistinctIndices_Accepted()
    {
        var split = Core.Security.ApiKeyHash.Generate().Hash;
        var second = Core.Security.ApiKeyHash.Generate().Hash;
        File.WriteAllText(_work.File("keys.json"), """{"Security":{"ApiKeys":[{"Name":"desk-a","Role":"trader","Accounts":["ACC1"]}]}}""");
        WriteSecrets($"[[Security.ApiKeys]]\nHash = \"{split}\"\n");

        var settings = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs(env: new()
        {
            ["TRADESTORE__SECURITY__APIKEYS__0__ROLE"] = "trader",
            ["TRADESTORE__SECURITY__APIKEYS__1__NAME"] = "ops",
            ["TRADESTORE__SECURITY__APIKEYS__1__HASH"] = second,
            ["TRADESTORE__SECURITY__APIKEYS__1__ROLE"] = "admin",
        }) with { ConfigFile = "keys.json" }));

        Assert.Collection(
            settings.Security.ApiKeys,
            key => Assert.Equal(("desk-a", split, "trader", "ACC1"), (key.Name, key.Hash, key.Role, string.Join(",", key.Accounts))),
            key => Assert.Equal(("ops", second, "admin", ""), (key.Name, key.Hash, key.Role, string.Join(",", key.Accounts))));
    }

    /// <summary>
    /// A key's accounts written as one string in secrets.toml: the binder said "Security: unknown setting
    /// 'ErrorOnUnknownConfiguration' was set and binding has failed", naming neither the key nor the mistake.
    /// </summary>
    [Fact]
    public void Bind_SecretsTomlAccountsAsAString_NamesTheKeyAndSaysItIsAList()
    {
        WriteSecrets($"[[Security.ApiKeys]]\nName = \"a\"\nHash = \"{Core.Security.ApiKeyHash.Generate().Hash}\"\nRole = \"trader\"\nAccounts = \"ACC1\"\n");

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs())));

        Assert.StartsWith("Security:ApiKeys:0:Accounts: is a list, got a single value; give each item its own index", error.Message);
        Assert.Contains("an array in TOML", error.Message);
    }

    /// <summary>
    /// A level .NET's logging does not know: serve died of an unhandled InvalidOperationException when it made its first
    /// logger ("Configuration value 'Verbose' is not supported", a stack trace, exit 134), and config show printed it as fine.
    /// </summary>
    [Theory]
    [InlineData("TRADESTORE__LOGGING__LOGLEVEL__DEFAULT", "Verbose", "Logging:LogLevel:DEFAULT")]
    [InlineData("TRADESTORE__LOGGING__CONSOLE__LOGLEVEL__TRADESTORE", "Loud", "Logging:CONSOLE:LogLevel:TRADESTORE")]
    public void Bind_LoggingLevelNotALevel_RefusedNamingTheKeyAndTheLevels(string variable, string value, string key)
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { [variable] = value, ["TRADESTORE__LOGGING__LOGLEVEL__MICROSOFT"] = "warning" }));

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.Equal($"{key}: must be one of Trace, Debug, Information, Warning, Error, Critical, None; got '{value}'.", error.Message);
    }

    /// <summary>
    /// A list where one value goes: Server:Urls as a JSON array was bound as unset (serve listened on the default
    /// 127.0.0.1:5080 without a word), and Redis:Password as a TOML array failed in the binder's words ("Cannot create
    /// instance of type 'System.String'…"), naming no key.
    /// </summary>
    [Fact]
    public void Bind_ListWhereOneValueGoes_RefusedNamingTheKey()
    {
        File.WriteAllText(_work.File("urls.json"), """{"Server":{"Urls":["http://127.0.0.1:6001"]}}""");
        var urls = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs() with { ConfigFile = "urls.json" })));

        WriteSecrets("[Redis]\nPassword = [\"hunter2\"]\n");
        var password = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs())));

        Assert.Equal("Server:Urls: is a single value, got a list or section (Server:Urls:0); give it one value.", urls.Message);
        Assert.Equal("Redis:Password: is a single value, got a list or section (Redis:Password:0); give it one value.", password.Message);
        Assert.DoesNotContain("hunter2", password.Message);
    }

    /// <summary>ASP.NET Core's top-level Urls was accepted, and serve listened where Server:Urls says: TRADESTORE__URLS was lost without a word.</summary>
    [Fact]
    public void Build_TopLevelUrls_RefusedPointingAtServerUrls()
    {
        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__URLS"] = "http://0.0.0.0:6002" })));

        Assert.Equal("Urls: is not read: the server listens on Server:Urls (--urls, TRADESTORE__SERVER__URLS); set that instead.", error.Message);
    }

    /// <summary>A key or a table given twice (TOML forbids both): the last one was taken, without a word.</summary>
    [Theory]
    [InlineData("[Redis]\nPassword = \"hunter1\"\nPassword = \"hunter2\"\n", "line 3, column 1: the key Redis.Password is already defined at line 2")]
    [InlineData("[Redis]\nPassword = \"hunter1\"\n\n[Redis]\nConnection = \"127.0.0.1:6379\"\n", "line 4, column 1: the key Redis is already defined at line 1")]
    public void Build_SecretsTomlKeyOrTableTwice_RefusedNamingTheKeyAndBothLinesWithoutTheSecret(string toml, string reason)
    {
        WriteSecrets(toml);

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs()));

        Assert.Contains("not valid TOML", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.DoesNotContain("hunter", error.Message);
    }

    /// <summary>TRADESTORE_SECRETS_FILE naming a directory was said to be a file that "does not exist"; an empty one is as unset.</summary>
    [Fact]
    public void Build_SecretsFileVariable_DirectorySaidSoAndEmptyAsUnset()
    {
        var directory = Assert.Throws<ConfigurationException>(() =>
            TradeStoreConfiguration.Build(Inputs(env: new() { [ConfigurationInputs.SecretsFileVariable] = _bin.Path })));
        var empty = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs(env: new() { [ConfigurationInputs.SecretsFileVariable] = "" })));

        Assert.Equal($"{ConfigurationInputs.SecretsFileVariable}: {_bin.Path} is a directory, not a file.", directory.Message);
        Assert.Null(empty.Redis.Password);
    }

    /// <summary>
    /// A secrets.toml or .env in the working directory that is a directory was skipped without a word (a missing file
    /// bind-mounted by Docker becomes one), while --config naming a directory was refused. secrets.toml is TradeStore's own
    /// name: refused, naming it. .env is also a Python virtual environment's usual name: read as absent, with a warning naming it.
    /// </summary>
    [Fact]
    public void Build_SecretsTomlOrDotEnvInWorkingDirectoryIsADirectory_SecretsRefusedDotEnvWarned()
    {
        var secrets = Directory.CreateDirectory(_work.File("secrets.toml")).FullName;
        var refused = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs()));
        Assert.Equal($"{secrets} is a directory, not a file: secrets.toml is read from the working directory when it is there; make it the file, " +
            $"remove the directory, or name the file with {ConfigurationInputs.SecretsFileVariable}.", refused.Message);
        Directory.Delete(secrets);

        var dotEnv = Directory.CreateDirectory(_work.File(".env")).FullName;
        var warnings = new List<string>();
        var settings = TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__STORAGE__DATADIRECTORY"] = "from-env" }) with { Warning = warnings.Add }));

        Assert.Equal("from-env", settings.Storage.DataDirectory);
        Assert.Equal([$"{dotEnv} is a directory, not a file: it is not read as configuration (its TRADESTORE__ settings, if any were meant, are not in effect)."], warnings);
        Directory.Delete(dotEnv);
        File.WriteAllText(_work.File(".env"), "TRADESTORE__STORAGE__DATADIRECTORY=from-dotenv\n");
        warnings.Clear();
        Assert.Equal("from-dotenv", TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs() with { Warning = warnings.Add })).Storage.DataDirectory);
        Assert.Empty(warnings);
    }

    /// <summary>
    /// A Kestrel endpoint's Url that Kestrel cannot parse, and an https:// address without a certificate: ASP.NET Core found
    /// them only while starting and serve died of its exception with a stack trace (exit 134). A Protocols name Kestrel
    /// does not know it took as unset, without a word.
    /// </summary>
    [Theory]
    [InlineData("TRADESTORE__KESTREL__ENDPOINTS__A__URL", "notaurl", "Kestrel:Endpoints:A:Url: 'notaurl' is not an absolute http:// or https:// address.")]
    [InlineData("TRADESTORE__KESTREL__ENDPOINTS__A__URL", "http://127.0.0.1:99999", "Kestrel:Endpoints:A:Url: 'http://127.0.0.1:99999': the port must be 1-65535, got 99999.")]
    [InlineData("TRADESTORE__KESTREL__ENDPOINTS__A__PROTOCOLS", "Http1", "Kestrel:Endpoints:A:Url: is required")]
    [InlineData("TRADESTORE__KESTREL__ENDPOINTS__A__URL", "https://127.0.0.1:6003", "Kestrel:Endpoints:A:Url: 'https://127.0.0.1:6003' needs a server certificate: set Kestrel:Endpoints:A:Certificate:Path or Kestrel:Certificates:Default:Path")]
    [InlineData("TRADESTORE__SERVER__URLS", "http://127.0.0.1:6004;https://127.0.0.1:6005", "Server:Urls: 'https://127.0.0.1:6005' needs a server certificate: set Kestrel:Certificates:Default:Path")]
    [InlineData("TRADESTORE__KESTREL__CERTIFICATES__DEFAULT__PATH", "/no-such-cert.pem", "Kestrel:Certificates:Default:Path: the file /no-such-cert.pem does not exist")]
    [InlineData("TRADESTORE__KESTREL__ENDPOINTDEFAULTS__PROTOCOLS", "Http9", "Kestrel:EndpointDefaults:Protocols: must be one of None, Http1, Http2, Http1AndHttp2, Http3")]
    public void Bind_KestrelEndpointOrHttpsAddressUnusable_RefusedNamingTheKey(string variable, string value, string expected)
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { [variable] = value }));

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    private void WriteSecrets(string toml)
    {
        var path = _work.File("secrets.toml");
        File.WriteAllText(path, toml);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// Every setting <c>config show</c> prints is named in docs/, and each row of the settings tables (docs/configuration.md,
    /// docs/high-availability.md) names its environment variable and the default the code binds: a literal default in
    /// backticks, or words (unset, empty, required …) for a setting that has none.
    /// </summary>
    [Fact]
    public void Docs_EverySettingDocumented_TablesNameTheBoundDefaultAndVariable()
    {
        var effective = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        using var json = JsonDocument.Parse(ConfigurationPrinter.ToJson(TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs()))));
        Flatten(json.RootElement, "");
        var docs = Path.Combine(TradeStoreProcess.RepositoryRoot, "docs");
        var allDocs = string.Concat(Directory.GetFiles(docs, "*.md").Select(File.ReadAllText));

        Assert.DoesNotContain(effective.Keys, key => !allDocs.Contains($"`{key}`", StringComparison.Ordinal));
        var rows = new[] { "configuration.md", "high-availability.md" }
            .SelectMany(file => File.ReadLines(Path.Combine(docs, file)))
            .Select(line => SettingRow().Match(line)).Where(match => match.Success).ToList();
        Assert.True(rows.Count >= 50, $"only {rows.Count} setting rows found in the docs' tables");
        var wrong = new List<string>();
        foreach (var row in rows)
        {
            var key = row.Groups["key"].Value;
            var variable = "TRADESTORE__" + key.ToUpperInvariant().Replace(":", "__", StringComparison.Ordinal);
            if (row.Groups["env"].Value != variable)
            {
                wrong.Add($"{key}: variable {row.Groups["env"].Value}, not {variable}");
            }

            if (!effective.TryGetValue(key, out var bound))
            {
                wrong.Add($"{key}: documented, but not a setting");
                continue;
            }

            var documented = row.Groups["default"].Success ? row.Groups["default"].Value : null;
            if (!SameDefault(bound, documented))
            {
                wrong.Add($"{key}: documented default {documented ?? "(none)"}, bound {bound}");
            }
        }

        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        void Flatten(JsonElement element, string path)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, path.Length == 0 ? property.Name : $"{path}:{property.Name}");
                }
            }
            else
            {
                effective[path] = element.Clone();
            }
        }
    }

    /// <summary>
    /// Each row of docs/configuration.md's table whose setting has a <see cref="RangeAttribute"/>
    /// gives that range as "(min–max": <c>Api:DefaultPageSize</c> once said only "at most <c>MaxPageSize</c>", not its
    /// 1–100000.
    /// </summary>
    [Fact]
    public void Docs_ConfigurationTableRows_NameTheRangeValidationAccepts()
    {
        var lines = File.ReadLines(Path.Combine(TradeStoreProcess.RepositoryRoot, "docs", "configuration.md"))
            .Select(line => (Line: line, Row: SettingRow().Match(line))).Where(row => row.Row.Success).ToList();
        var wrong = new List<string>();
        var checkedRanges = 0;
        foreach (var (line, row) in lines)
        {
            var key = row.Groups["key"].Value;
            PropertyInfo? property = null;
            var type = typeof(TradeStoreSettings);
            foreach (var name in key.Split(':'))
            {
                property = type.GetProperty(name);
                if (property is null)
                {
                    break;
                }

                type = property.PropertyType;
            }

            if (property is null)
            {
                wrong.Add($"{key}: no such property of the options classes");
                continue;
            }

            if (property.GetCustomAttribute<RangeAttribute>() is not { } range)
            {
                continue;
            }

            checkedRanges++;
            var expected = $"{Bound(range.Minimum)}–{Bound(range.Maximum)}";
            if (!line.Contains($"({expected}", StringComparison.Ordinal))
            {
                wrong.Add($"{key}: validation accepts {expected}, which its row does not give as \"({expected}\"");
            }
        }

        Assert.True(checkedRanges >= 30, $"only {checkedRanges} rows with a range found");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        static string Bound(object value) => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
    }

    /// <summary>
    /// Every [Range] setting, given a value past its maximum, is refused in one form: the full key, the attribute's rule
    /// (with what its ErrorMessage says besides the bounds: "0 (unlimited)", "bytes"), and the value. Until 2026-12-05 the
    /// top-level sections said the framework's bounds (ClickHouse:Timeout "00:00:00.1000000", no "(unlimited)"), and the
    /// nested ones (Security:Query:*, ClickHouse:Sync:*) the ErrorMessage without the value.
    /// </summary>
    [Fact]
    public void Bind_EveryRangeSettingPastItsMaximum_SaysKeyRuleAndValueInOneForm()
    {
        var wrong = new List<string>();
        var settings = 0;
        foreach (var (key, range) in RangeSettings(typeof(TradeStoreSettings), prefix: null))
        {
            settings++;
            var value = PastMaximum(range);
            var variable = "TRADESTORE__" + key.Replace(":", "__", StringComparison.Ordinal).ToUpperInvariant();
            var expected = $"{key}: {range.ErrorMessage!.TrimEnd('.')}, got {value}.";
            try
            {
                TradeStoreSettings.Bind(TradeStoreConfiguration.Build(Inputs(env: new() { [variable] = value })));
                wrong.Add($"{key} = {value}: accepted");
            }
            catch (ConfigurationException ex) when (!ex.Message.Split(Environment.NewLine).Contains(expected))
            {
                wrong.Add($"{key} = {value}: said \"{ex.Message}\", not \"{expected}\"");
            }
            catch (ConfigurationException)
            {
                // said as expected
            }
        }

        Assert.True(settings >= 45, $"only {settings} [Range] settings found");
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));

        static string PastMaximum(RangeAttribute range) => range.OperandType == typeof(TimeSpan)
            ? (TimeSpan.Parse((string)range.Maximum, System.Globalization.CultureInfo.InvariantCulture) + TimeSpan.FromSeconds(1)).ToString("c", System.Globalization.CultureInfo.InvariantCulture)
            : (Convert.ToInt64(range.Maximum, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every property with a [Range] under <paramref name="type"/>, by configuration key, through nested sections (Security:Query).</summary>
    private static IEnumerable<(string Key, RangeAttribute Range)> RangeSettings(Type type, string? prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var key = prefix is null ? property.Name : $"{prefix}:{property.Name}";
            if (property.GetCustomAttribute<RangeAttribute>() is { } range)
            {
                yield return (key, range);
            }
            else if (property.PropertyType.IsClass && property.PropertyType.Namespace?.StartsWith("TradeStore.", StringComparison.Ordinal) == true && property.CanWrite)
            {
                foreach (var nested in RangeSettings(property.PropertyType, key))
                {
                    yield return nested;
                }
            }
        }
    }

    private static bool SameDefault(JsonElement bound, string? documented)
    {
        if (documented is null)
        {
            return bound.ValueKind is JsonValueKind.Null || (bound.ValueKind == JsonValueKind.String && bound.GetString() == "")
                || (bound.ValueKind == JsonValueKind.Array && bound.GetArrayLength() == 0);
        }

        var text = bound.ValueKind == JsonValueKind.String ? bound.GetString()! : bound.GetRawText();
        return string.Equals(text, documented, StringComparison.OrdinalIgnoreCase)
            || (TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var a)
                && TimeSpan.TryParse(documented, System.Globalization.CultureInfo.InvariantCulture, out var b) && a == b);
    }

    /// <summary>A settings-table row of one key: <c>| `Key` | `VARIABLE` | `default` or words | meaning |</c>.</summary>
    [GeneratedRegex(@"^\|\s*`(?<key>[A-Za-z]+(?::[A-Za-z]+)+)`\s*\|\s*`(?<env>[A-Z_]+)`\s*\|\s*(?:`(?<default>[^`]*)`)?[^|]*\|")]
    private static partial Regex SettingRow();

    /// <summary>
    /// <c>.env</c> read as a shell reads it: an <c>export</c> prefix once made a line count for nothing (the setting
    /// silently stayed at its default); quotes are taken off, single-quoted text is literal (<c>$</c> included), as
    /// <c>keys new</c> prints a hash.
    /// </summary>
    [Fact]
    public void Build_DotEnvWithExportPrefixQuotesAndComments_ReadAsAShellWould()
    {
        var hash = TradeStore.Core.Security.ApiKeyHash.Generate().Hash;
        File.WriteAllText(_work.File(".env"), $"""
            # written by hand

            export TRADESTORE__SERVER__URLS=http://127.0.0.1:6001
            export	TRADESTORE__STORAGE__DATADIRECTORY='/srv/with $HOME and "quotes"'   # a comment after the quote
            TRADESTORE__REDIS__CONNECTION = "127.0.0.1:6390"
            TRADESTORE__CLICKHOUSE__PASSWORD="say \"hi\" \\ bye"
            TRADESTORE__SECURITY__APIKEYS__0__NAME='desk-a'
            TRADESTORE__SECURITY__APIKEYS__0__HASH='{hash}'
            TRADESTORE__SECURITY__APIKEYS__0__ROLE='trader'
            OTHER_TOOL_KEY="a value
            on two lines"
            """);

        var configuration = TradeStoreConfiguration.Build(Inputs());
        var settings = TradeStoreSettings.Bind(configuration);

        Assert.Equal("http://127.0.0.1:6001", settings.Server.Urls);
        Assert.Equal("/srv/with $HOME and \"quotes\"", settings.Storage.DataDirectory);
        Assert.Equal("127.0.0.1:6390", settings.Redis.Connection);
        Assert.Equal("say \"hi\" \\ bye", settings.ClickHouse.Password);
        Assert.Equal(hash, configuration["Security:ApiKeys:0:Hash"]);
        Assert.Equal("desk-a", Assert.Single(settings.Security.ApiKeys).Name);
    }

    /// <summary>
    /// An inline comment after an unquoted value is not part of it, as earlier builds and Docker Compose read it: the
    /// reader of session 16 took <c>…/data   # production book</c> as the data directory and served a new, empty store.
    /// </summary>
    [Fact]
    public void Build_DotEnvUnquotedValueWithInlineComment_CommentDropped()
    {
        File.WriteAllText(_work.File(".env"), """
            TRADESTORE__STORAGE__DATADIRECTORY=/srv/book/data   # production book
            TRADESTORE__SERVER__URLS=http://127.0.0.1:6001	# tab before the comment
            TRADESTORE__REDIS__PASSWORD=pa#ss
            TRADESTORE__CLICKHOUSE__PASSWORD=#starts-with-hash
            TRADESTORE__CLICKHOUSE__USER= # only a comment
            """);

        var configuration = TradeStoreConfiguration.Build(Inputs());
        var settings = TradeStoreSettings.Bind(configuration);

        Assert.Equal("/srv/book/data", settings.Storage.DataDirectory);
        Assert.Equal("http://127.0.0.1:6001", settings.Server.Urls);
        Assert.Equal("pa#ss", settings.Redis.Password);
        Assert.Equal("#starts-with-hash", settings.ClickHouse.Password);
        Assert.Equal("", configuration["ClickHouse:User"]);
    }

    /// <summary>A malformed <c>.env</c> line is refused naming the file and line, never quoting it (it may hold a secret); it used to be skipped silently.</summary>
    [Theory]
    [InlineData("TRADESTORE__SERVER__URLS=http://127.0.0.1:6001\nhunter2-no-equals-sign\n", 2, "no '='")]
    [InlineData("# ok\nTRADESTORE__REDIS__PASSWORD='hunter2\n", 2, "never closed")]
    [InlineData("TRADESTORE__REDIS__PASSWORD='hunter2' trailing\n", 1, "closing single quote")]
    [InlineData("hunter2 secret=x\n", 1, "not a variable name")]
    public void Build_DotEnvMalformedLine_RefusedNamingFileAndLine(string content, int line, string reason)
    {
        File.WriteAllText(_work.File(".env"), content);

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreConfiguration.Build(Inputs()));

        Assert.Contains($"{_work.File(".env")} line {line}:", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A port beyond 65535 is named as such, not as "not an absolute http:// or https:// address".</summary>
    [Theory]
    [InlineData("http://127.0.0.1:99999", "99999")]
    [InlineData("http://[::1]:70000", "70000")]
    [InlineData("http://127.0.0.1:5080;https://localhost:123456/", "123456")]
    public void Bind_ServerUrlPortOutOfRange_SaysThePortMustBe1To65535(string urls, string port)
    {
        var configuration = TradeStoreConfiguration.Build(Inputs(env: new() { ["TRADESTORE__SERVER__URLS"] = urls }));

        var error = Assert.Throws<ConfigurationException>(() => TradeStoreSettings.Bind(configuration));

        Assert.Contains("Server:Urls", error.Message, StringComparison.Ordinal);
        Assert.Contains($"the port must be 1-65535, got {port}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not an absolute", error.Message, StringComparison.Ordinal);
    }

    private ConfigurationInputs Inputs(Dictionary<string, string>? env = null) => new()
    {
        BaseDirectory = _bin.Path,
        WorkingDirectory = _work.Path,
        Environment = env ?? [],
    };
}
