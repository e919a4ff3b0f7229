using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TradeStore.ClickHouse;
using TradeStore.Core.Migrations;
using TradeStore.Core.Options;
using TradeStore.Redis;
using TradeStore.Server.Api;
using TradeStore.Server.Changes;
using TradeStore.Server.Cluster;
using TradeStore.Server.OpenApi;
using TradeStore.Server.Configuration;
using TradeStore.Server.OperatorConsole;
using TradeStore.Server.Health;
using TradeStore.Server.Lifetime;
using TradeStore.Server.Migrations;
using TradeStore.Server.Security;

using TradeStore.Server.Metrics;
using TradeStore.Storage;
using TradeStore.Storage.CommitLog;
using TradeStore.Storage.Engine;
using TradeStore.Storage.Integrity;
using TradeStore.Storage.Journal;
using TradeStore.Storage.Migrations;

namespace TradeStore.Server;

/// <summary>Composes the TradeStore web host from a configuration. Logic lives in the libraries; this only wires them.</summary>
public static class TradeStoreHost
{
    private const string ReadyTag = "ready";

    /// <summary>The version <c>tradestore --version</c> prints (the informational version, with the commit), for the start-up line.</summary>
    private static string ProductVersion =>
        (System.Reflection.Assembly.GetEntryAssembly() ?? typeof(TradeStoreHost).Assembly)
            .GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "unknown";

    /// <summary>Opens the journal log; a file system that refuses it (a file where its folder goes, permissions, a full disk) is exit 4 naming the path, not a crash.</summary>
    private static JournalLog OpenJournalLog(DuckDbDatabase database, StorageOptions storage, long appliedSeq)
    {
        var directory = JournalLog.DirectoryFor(database.Path);
        if (File.Exists(directory))
        {
            throw DatabaseOpenException.NotADirectory(database.Path, "open the journal log in", directory);
        }

        try
        {
            return JournalLog.Open(directory, new JournalLogOptions { Durability = storage.Durability, SegmentBytes = storage.JournalSegmentBytes }, appliedSeq);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw DatabaseOpenException.FileSystem(database.Path, "open the journal log in", directory, ex);
        }
    }

    /// <summary>
    /// Builds the host. The database is opened here, before anything listens, so a locked or damaged
    /// file stops start-up with <see cref="DatabaseLockedException"/> or <see cref="DatabaseOpenException"/>.
    /// </summary>
    /// <exception cref="JournalBehindSinksException">Redis or ClickHouse holds events the journal lacks (it lost acknowledged events).</exception>
    /// <param name="configuration">The effective configuration (<see cref="TradeStoreConfiguration.Build"/>).</param>
    /// <param name="configure">Last-moment changes, for example a test server instead of Kestrel.</param>
    public static WebApplication Build(IConfigurationRoot configuration, Action<WebApplicationBuilder>? configure = null)
    {
        var settings = TradeStoreSettings.Bind(configuration);
        SecurityServices.RequireSafeBinding(settings);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(configuration);
        builder.WebHost.UseUrls(settings.Server.Urls);
        // The slim builder leaves HTTPS out: an https:// address in Server:Urls or Kestrel:Endpoints, both accepted by
        // validation, stopped serve with "Call UseKestrelHttpsConfiguration() …", a stack trace and exit 134. The certificate
        // is ASP.NET Core's Kestrel:Certificates:Default (or an endpoint's Certificate); without one BoundAddresses says so.
        builder.WebHost.UseKestrelHttpsConfiguration();
        // ASP.NET Core reads the section's endpoints but not its limits: Kestrel:Limits goes on here (KestrelLimits).
        builder.WebHost.ConfigureKestrel(kestrel => KestrelLimits.Apply(configuration, kestrel.Limits));
        if (settings.Server.InlineScheduling)
        {
            // Requests run on the thread that completed the read: with the process's inline socket completions (serve
            // turns them on first thing: SocketEventThreads says why), on the socket event thread itself.
            builder.Services.Configure<SocketTransportOptions>(o => o.UnsafePreferInlineScheduling = true);
        }

        builder.Logging.AddSimpleConsole(ConsoleFormat);
        // Until the host is built, its logging is not: what start-up does before that (a long replay) says so through this one.
        using var startupLogging = LoggerFactory.Create(logging => logging.AddConfiguration(configuration.GetSection("Logging")).AddSimpleConsole(ConsoleFormat));
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Server.ShutdownTimeout);
        // SIGTERM/SIGINT during the host's start wait for it, instead of cancelling it (SignalLifetime says why).
        builder.Services.AddSingleton<IHostLifetime, SignalLifetime>();

        builder.Services.AddTradeStoreOptions(settings);
        // Until the host's lifetime listens, a stop signal ends the process as by default; this says so first (event 1013).
        using var earlyStop = new EarlyStopSignals(startupLogging);
        var database = DuckDbDatabase.Open(settings.Storage.DatabasePath, settings.Storage.CheckpointThreshold, settings.Storage.DuckDbThreads,
            settings.Storage.DuckDbMemoryLimit, settings.Storage.DuckDbMaxTempSize, settings.Storage.WalBackupsKept);
        JournalLog? journalLog = null;
        try
        {
            // Schema before anything else: drift, a newer schema, or (with AutoMigrate off) pending migrations stop start-up here.
            var migrated = ReadOrThrow(database, () => MigrateSchema(database, settings.Storage));
            // In a cluster, the data directory's identity: created with it, before the journal folder (issue #14).
            var incarnation = ClusterHosting.Incarnation(settings, database.Path);
            // The journal log is the point of durability: what DuckDB lacks of it is replayed before any check or request.
            // DuckDB's end goes into the open: with fsync durability a damaged tail that would drop seqs DuckDB holds is damage, not a torn append.
            var appliedSeq = ReadOrThrow(database, () => new JournalReader(database).LastSeq());
            journalLog = OpenJournalLog(database, settings.Storage, appliedSeq);
            // A tail this node must cut (rejoining a cluster whose leader never had it) goes before the replay (issue #14).
            var truncation = ReadOrThrow(database, () => TailTruncation.ApplyPending(database, journalLog));
            earlyStop.Doing = "replaying the journal log into DuckDB";
            var replay = ReadOrThrow(database, () => JournalLogReplay.Run(database, journalLog, startupLogging.CreateLogger(typeof(WriteEngine))));
            earlyStop.Doing = "checking the journal's integrity (Storage:VerifyOnStart)";
            var integrity = settings.Storage.VerifyOnStart ? VerifyIntegrity(database, startupLogging.CreateLogger(typeof(IntegrityChecker))) : null;
            earlyStop.Doing = "asking Redis and ClickHouse where they are";
            // Before the engine exists, so no seq is handed out when Redis or ClickHouse holds events the journal lost.
            var uncheckedSinks = SinkPositionCheck.Verify(database, settings);
            earlyStop.Doing = "building the host";
            builder.Services.AddTradeStoreStorage(database, journalLog);
            AddDependencies(builder.Services, settings);
            ClusterHosting.AddServices(builder.Services, settings, incarnation);
            MetricsEndpoint.AddServices(builder.Services, settings);
            SecurityServices.Add(builder.Services, settings);
            QueryEndpoint.AddServices(builder.Services, settings, database);
            ChangesEndpoint.AddServices(builder.Services);
            OpenApiEndpoints.AddServices(builder.Services);
            configure?.Invoke(builder);
            if (GuardWatch.GuardPidFromEnvironment() is { } guardPid)
            {
                builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<GuardWatch>(sp, guardPid));
            }

            builder.Services.AddSingleton<EngineFailureStop>();
            builder.Services.AddHostedService(sp => sp.GetRequiredService<EngineFailureStop>());
            // Last of the hosted services, so the host stops it first: it owns the shutdown order.
            builder.Services.AddHostedService<ShutdownCoordinator>();

            var app = builder.Build();
            EmptyErrorProblems.Use(app);
            SecurityServices.Use(app, settings);
            ReadYourWrites.Use(app, settings);
            MapHealth(app);
            ClusterHosting.TradeApiRoutes(app, settings).MapTradeApi();
            ClusterHosting.Map(app, settings);
            QueryEndpoint.Map(app);
            ChangesEndpoint.Map(app, settings);
            OpenApiEndpoints.Map(app);
            ConsoleEndpoints.Map(app);
            LogMigrations(app.Logger, database, migrated);
            if (integrity is not null)
            {
                Log.IntegrityVerified(app.Logger, integrity.Describe());
            }

            foreach (var sink in uncheckedSinks.Unchecked)
            {
                Log.SinkPositionUnchecked(app.Logger, sink.Sink, sink.JournalLastSeq, sink.Reason);
            }

            if (uncheckedSinks.BehindInCluster is { } behind)
            {
                Log.SinksAheadInCluster(app.Logger, string.Join(", ", behind.Ahead.Select(a => $"{a.Sink} up to seq {a.LastSeq}")), behind.JournalLastSeq);
            }

            MetricsEndpoint.Map(app, settings);
            app.Lifetime.ApplicationStarted.Register(() => Log.Started(app.Logger, ProductVersion,
                BoundAddresses.Of(app) is { Count: > 0 } bound ? string.Join(";", bound) : settings.Server.Urls, database.Path, database.EngineVersion,
                settings.Redis.Enabled ? "enabled" : "disabled", settings.ClickHouse.Enabled ? "enabled" : "disabled"));
            app.Lifetime.ApplicationStopped.Register(() => Log.Stopped(app.Logger, database.Path));
            if (database.PreservedWal is { } walCopy)
            {
                Log.WalPreserved(app.Logger, walCopy);
                database.LogRemovedWalBackups(app.Logger);
            }

            replay.Report(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WriteEngine)));
            ClusterHosting.ReportTruncation(app, truncation);
            return app;
        }
        catch
        {
            journalLog?.Dispose();
            database.Dispose();
            throw;
        }
    }

    private static void AddDependencies(IServiceCollection services, TradeStoreSettings settings)
    {
        var health = services.AddHealthChecks();
        health.AddCheck<DuckDbHealthCheck>(DependencyNames.DuckDb, HealthStatus.Unhealthy, [ReadyTag]);
        if (settings.Redis.Enabled)
        {
            services.AddTradeStoreRedis().AddTradeStoreRedisProjection();
            // By design degraded, not unhealthy: Redis is derived state and writes go on without it (docs/architecture.md).
            health.AddCheck<RedisHealthCheck>(DependencyNames.Redis, HealthStatus.Degraded, [ReadyTag]);
        }

        if (settings.Cluster.Enabled)
        {
            health.AddCheck<ClusterHealthCheck>(DependencyNames.Cluster, HealthStatus.Degraded, [ReadyTag]);
        }

        if (settings.ClickHouse.Enabled)
        {
            services.AddTradeStoreClickHouse().AddClickHouseSync();
            health.AddCheck<ClickHouseHealthCheck>(DependencyNames.ClickHouse, HealthStatus.Degraded, [ReadyTag]);
            services.AddHostedService<ClickHouseStartupMigration>();
        }
    }

    /// <summary>Runs <paramref name="read"/>; DuckDB failing to read the file (a corrupt block, an I/O error) becomes <see cref="DatabaseOpenException"/>.</summary>
    private static T ReadOrThrow<T>(DuckDbDatabase database, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (DuckDB.NET.Data.DuckDBException ex)
        {
            throw DatabaseOpenException.ReadFailed(database.Path, ex);
        }
    }

    /// <exception cref="MigrationException">The schema is newer than this binary, has drifted, or migrations are pending with AutoMigrate off.</exception>
    private static IReadOnlyList<MigrationStepResult> MigrateSchema(DuckDbDatabase database, StorageOptions storage)
    {
        if (storage.AutoMigrate)
        {
            return DuckDbSchema.MigrateToLatest(database);
        }

        DuckDbSchema.RequireLatest(database, PendingMigrationAdvice.AutoMigrateOff);
        return [];
    }

    /// <exception cref="IntegrityException">The journal and the state disagree; the report says how and what to do.</exception>
    /// <param name="database">The database, its journal log replayed.</param>
    /// <param name="progress">Where a long check says that it starts and which step it is at (events 2038, 2039).</param>
    private static IntegrityReport VerifyIntegrity(DuckDbDatabase database, ILogger progress)
    {
        var report = new IntegrityChecker(database) { Progress = progress }.Check();
        return report.IsHealthy ? report : throw new IntegrityException(report);
    }

    private static void LogMigrations(ILogger logger, DuckDbDatabase database, IReadOnlyList<MigrationStepResult> migrated)
    {
        foreach (var step in migrated)
        {
            Log.MigrationApplied(logger, step.Migration.Id, $"duckdb {database.Path}", step.Duration.TotalMilliseconds);
        }
    }

    /// <summary>The console log's format: one line per entry, UTC timestamps with milliseconds.</summary>
    private static void ConsoleFormat(Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions options)
    {
        options.SingleLine = true;
        options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        options.UseUtcTimestamp = true;
    }

    private static void MapHealth(WebApplication app)
    {
        // Liveness runs no checks: it answers whether the process serves requests at all, so a slow
        // dependency never gets a healthy process restarted (Kubernetes' liveness/readiness split).
        app.MapHealthChecks("/health/live", new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = static (context, _) =>
            {
                GuardProbeAnswer.Stamp(context);
                return context.Response.WriteAsJsonAsync(new LiveResponse("healthy"), HealthJsonContext.Default.LiveResponse);
            },
        }).WithMetadata(HealthMethods);
        app.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).WithMetadata(HealthMethods);
    }

    /// <summary>Probes ask with GET or HEAD; any other method is 405 <c>method-not-allowed</c>, as on every other path.</summary>
    private static readonly HttpMethodMetadata HealthMethods = new([HttpMethods.Get, HttpMethods.Head]);
}
