using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using TradeStore.Cluster;
using TradeStore.Core.Options;
using TradeStore.Redis;
using TradeStore.Server.Changes;

namespace TradeStore.Server.Configuration;

/// <summary>
/// The bound and validated options of every section. Binding rejects unknown keys inside a known
/// section (a typo such as <c>Storage:DataDirectroy</c> should stop start-up, not be ignored).
/// </summary>
public sealed partial record TradeStoreSettings(StorageOptions Storage, ServerOptions Server, RedisOptions Redis, ClickHouseOptions ClickHouse)
{
    /// <summary>The WriteEngine section.</summary>
    public EngineOptions Engine { get; init; } = new();

    /// <summary>Limits of the HTTP API.</summary>
    public ApiOptions Api { get; init; } = new();

    /// <summary>API keys, metrics access, rate limits and the SQL endpoint.</summary>
    public SecurityOptions Security { get; init; } = new();

    /// <summary>High availability; off (standalone) unless <c>Cluster:Etcd</c> is set.</summary>
    public ClusterOptions Cluster { get; init; } = new();

    /// <summary>Limits of the live change feed <c>GET /v1/changes</c>.</summary>
    public ChangeFeedOptions Changes { get; init; } = new();

    /// <exception cref="ConfigurationException">A value is malformed or invalid; the message names the key.</exception>
    public static TradeStoreSettings Bind(IConfiguration configuration)
    {
        var storage = BindSection<StorageOptions>(configuration, StorageOptions.SectionName);
        var server = BindSection<ServerOptions>(configuration, ServerOptions.SectionName);
        var redis = BindSection<RedisOptions>(configuration, RedisOptions.SectionName);
        var clickHouse = BindSection<ClickHouseOptions>(configuration, ClickHouseOptions.SectionName);
        var engine = BindSection<EngineOptions>(configuration, EngineOptions.SectionName);
        var api = BindSection<ApiOptions>(configuration, ApiOptions.SectionName);
        var security = BindSection<SecurityOptions>(configuration, SecurityOptions.SectionName);
        var cluster = BindSection<ClusterOptions>(configuration, ClusterOptions.SectionName);
        var changes = BindSection<ChangeFeedOptions>(configuration, ChangeFeedOptions.SectionName);

        var failures = new List<string>();
        Collect<StorageOptions>(failures, configuration, StorageOptions.SectionName, new StorageOptionsValidator().Validate(null, storage));
        Collect<ServerOptions>(failures, configuration, ServerOptions.SectionName, new ServerOptionsValidator().Validate(null, server));
        Collect<RedisOptions>(failures, configuration, RedisOptions.SectionName, new RedisOptionsValidator().Validate(null, redis));
        Collect<ClickHouseOptions>(failures, configuration, ClickHouseOptions.SectionName, new ClickHouseOptionsValidator().Validate(null, clickHouse));
        Collect<EngineOptions>(failures, configuration, EngineOptions.SectionName, new EngineOptionsValidator().Validate(null, engine));
        Collect<ApiOptions>(failures, configuration, ApiOptions.SectionName, new ApiOptionsValidator().Validate(null, api));
        Collect<SecurityOptions>(failures, configuration, SecurityOptions.SectionName, new SecurityOptionsValidator().Validate(null, security));
        Collect<ClusterOptions>(failures, configuration, ClusterOptions.SectionName, new ClusterOptionsValidator().Validate(null, cluster));
        Collect<ChangeFeedOptions>(failures, configuration, ChangeFeedOptions.SectionName, new ChangeFeedOptionsValidator().Validate(null, changes));
        failures.AddRange(KestrelLimits.Validate(configuration));
        failures.AddRange(LoggingLevels.Validate(configuration));
        failures.AddRange(HttpsCertificates.Validate(configuration));
        if (engine.QueueCapacity < api.MaxBatchSize)
        {
            // Seen: QueueCapacity 10 refused 39 of the 50 commands of one batch as busy, on an idle server.
            failures.Add($"{EngineOptions.SectionName}:{nameof(EngineOptions.QueueCapacity)}: must be at least {ApiOptions.SectionName}:{nameof(ApiOptions.MaxBatchSize)} " +
                $"({api.MaxBatchSize}), got {engine.QueueCapacity}: a batch request queues each of its commands, so a smaller queue would refuse part of " +
                "every full batch as busy (503), even on an idle server.");
        }

        if (redis.Enabled && RedisConnectionString.Problem(redis.Connection!) is { } redisProblem)
        {
            failures.Add($"{RedisOptions.SectionName}:{nameof(RedisOptions.Connection)}: {redisProblem}");
        }

        if (failures.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, failures));
        }

        return new TradeStoreSettings(storage, server, redis, clickHouse) { Engine = engine, Api = api, Security = security, Cluster = cluster, Changes = changes };
    }

    /// <summary>
    /// The <c>Cluster</c> section alone, checked only for what reaching the cluster's keys in etcd needs
    /// (<see cref="ClusterOptions.ValidateEtcdAccess"/>): for <c>tradestore cluster status|forget</c>, admin commands run
    /// from an ops host that is no node (no <c>Cluster:Node</c>, <c>Cluster:AdvertiseUrl</c> or data directory).
    /// </summary>
    /// <exception cref="ConfigurationException">A key those commands use is malformed; the message names it.</exception>
    public static ClusterOptions BindClusterAccess(IConfiguration configuration)
    {
        var cluster = BindSection<ClusterOptions>(configuration, ClusterOptions.SectionName);
        if (!cluster.Enabled)
        {
            return cluster;
        }

        var failures = cluster.ValidateEtcdAccess()
            .Select(failure => $"{ClusterOptions.SectionName}:{string.Join(", ", failure.MemberNames)}: {failure.ErrorMessage}")
            .ToList();
        if (failures.Count > 0)
        {
            throw new ConfigurationException(string.Join(Environment.NewLine, failures));
        }

        return cluster;
    }

    /// <summary>
    /// The top-level sections TradeStore reads; <c>Logging</c> is the .NET logging configuration, <c>Kestrel</c> ASP.NET
    /// Core's own (the addresses it binds are checked after start). By design any other section is an error:
    /// <c>TRADESTORE__FOO__BAR</c> or <c>{"Enginee": …}</c> would otherwise be lost without a word.
    /// </summary>
    public static IReadOnlyList<string> KnownSections { get; } =
    [
        StorageOptions.SectionName, ServerOptions.SectionName, RedisOptions.SectionName, ClickHouseOptions.SectionName,
        EngineOptions.SectionName, ApiOptions.SectionName, SecurityOptions.SectionName, ClusterOptions.SectionName, ChangeFeedOptions.SectionName,
        LoggingLevels.SectionName, KestrelLimits.SectionName,
    ];

    /// <summary>ASP.NET Core's own key for the listen addresses, which <c>serve</c> replaces with <c>Server:Urls</c>.</summary>
    private const string AspNetCoreUrls = "Urls";

    /// <exception cref="ConfigurationException">A top-level section is not one TradeStore reads; the message names it.</exception>
    internal static void RequireKnownSections(IConfiguration configuration)
    {
        if (configuration.GetSection(AspNetCoreUrls).Exists())
        {
            // Once accepted as ASP.NET Core's: but serve listens where Server:Urls says (UseUrls), so TRADESTORE__URLS or
            // {"Urls": …} left the server on the default address without a word.
            throw new ConfigurationException(
                $"{AspNetCoreUrls}: is not read: the server listens on {ServerOptions.SectionName}:{nameof(ServerOptions.Urls)} " +
                "(--urls, TRADESTORE__SERVER__URLS); set that instead.");
        }

        var unknown = configuration.GetChildren()
            .Select(section => section.Key)
            .Where(key => !KnownSections.Contains(key, StringComparer.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (unknown.Count > 0)
        {
            throw new ConfigurationException(
                $"unknown configuration section{(unknown.Count > 1 ? "s" : string.Empty)} {string.Join(", ", unknown)} " +
                $"(from --config, appsettings.json, secrets.toml, .env or a TRADESTORE__ variable); the known sections are {string.Join(", ", KnownSections)}.");
        }
    }

    internal static T BindSection<T>(IConfiguration configuration, string section)
        where T : new()
    {
        RequireEnumNames<T>(configuration, section);
        SingleValueWhereSection.Require<T>(configuration, section);
        try
        {
            return configuration.GetSection(section).Get<T>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new T();
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains(nameof(BinderOptions.ErrorOnUnknownConfiguration), StringComparison.Ordinal))
        {
            var unknown = ex.Message[(ex.Message.LastIndexOf(':') + 1)..].Trim();
            var known = string.Join(", ", typeof(T).GetProperties().Where(p => p.CanWrite).Select(p => p.Name));
            throw new ConfigurationException($"{section}: unknown setting {unknown}; the known settings are {known}.", ex);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key ("…value 'abc' at 'Engine:MaxBatchSize' to type 'System.Int32'"): said as the other
            // configuration errors are, key first and what to write instead; anything else in its own words, without the stack.
            throw new ConfigurationException(
                ConversionFailure.Say(ex.Message) ?? (ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message), ex);
        }
    }

    /// <summary>
    /// By design a setting of an enum type takes one of its names only: the binder also takes a number (<c>1</c>) or a
    /// comma-separated list (<c>fsync,os</c>, read as flags), which would pick a mode nobody wrote.
    /// </summary>
    private static void RequireEnumNames<T>(IConfiguration configuration, string section)
    {
        foreach (var property in typeof(T).GetProperties().Where(p => p.CanWrite))
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (!type.IsEnum || configuration[$"{section}:{property.Name}"] is not { } raw)
            {
                continue;
            }

            var names = Enum.GetNames(type);
            if (!names.Contains(raw.Trim(), StringComparer.OrdinalIgnoreCase))
            {
                throw new ConfigurationException(
                    $"{section}:{property.Name}: must be one of {string.Join(", ", names.Select(n => n.ToLowerInvariant()))}; got '{raw}'.");
            }
        }
    }

    /// <summary>The generated validators report "Member: message"; prefixing the section gives the full key.</summary>
    private static void Collect<T>(List<string> failures, IConfiguration configuration, string section, ValidateOptionsResult result)
    {
        if (result.Failed)
        {
            failures.AddRange((result.Failures ?? []).Select(failure => $"{section}:{InOurWords(configuration, section, typeof(T), failure)}"));
        }
    }

    /// <summary>
    /// Every value out of a [Range] said one way, <c>Section:Key: must be between MIN and MAX, got VALUE.</c>, in the words of
    /// the attribute's ErrorMessage (which may say more: "0 (unlimited)", "bytes"). The generated validators ignore that
    /// ErrorMessage (dotnet/runtime#123137) and say "The field StorageOptions.JournalSegmentBytes must be between 65536 and
    /// 1073741824." (a C# type, and a TimeSpan as .NET prints it: 00:00:00.1000000), while the nested sections
    /// (<c>Security:Query</c>, <c>ClickHouse:Sync</c>), checked with <see cref="System.ComponentModel.DataAnnotations.Validator"/>,
    /// gave the ErrorMessage without the value; until 2026-12-05 each kind reached the operator as it came.
    /// </summary>
    private static string InOurWords(IConfiguration configuration, string section, Type options, string failure)
    {
        var colon = failure.IndexOf(": ", StringComparison.Ordinal);
        if (colon <= 0 || RangeOf(options, failure[..colon]) is not { } range)
        {
            return failure;
        }

        var member = failure[..colon];
        var message = failure[(colon + 2)..];
        if (!GeneratedRangeMessage().IsMatch(failure) && message != range.ErrorMessage)
        {
            return failure; // another rule of the same key
        }

        var rule = range.ErrorMessage?.TrimEnd('.') ?? $"must be between {range.Minimum} and {range.Maximum}";
        var given = configuration[$"{section}:{member}"];
        return $"{member}: {rule}" + (given is null ? "." : $", got {given}.");
    }

    /// <summary>The [Range] of the property <paramref name="member"/> (<c>MaxRows</c>, or <c>Query:MaxRows</c> through a nested section) names on <paramref name="options"/>.</summary>
    private static System.ComponentModel.DataAnnotations.RangeAttribute? RangeOf(Type options, string member)
    {
        System.Reflection.PropertyInfo? property = null;
        var type = options;
        foreach (var name in member.Split(':'))
        {
            property = type.GetProperty(name);
            if (property is null)
            {
                return null;
            }

            type = property.PropertyType;
        }

        return property is null ? null : (System.ComponentModel.DataAnnotations.RangeAttribute?)Attribute.GetCustomAttribute(property, typeof(System.ComponentModel.DataAnnotations.RangeAttribute));
    }

    [GeneratedRegex(@"^(?<member>[^:]+(?::[^: ]+)*): The field \S+ must be between (?<min>.+) and (?<max>.+)\.$")]
    private static partial Regex GeneratedRangeMessage();
}
