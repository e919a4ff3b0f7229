using Microsoft.Extensions.Options;

namespace TradeStore.Core.Options;

/// <summary>Compile-time generated validators: no reflection at start-up.</summary>
[OptionsValidator]
public sealed partial class StorageOptionsValidator : IValidateOptions<StorageOptions>;

[OptionsValidator]
public sealed partial class ServerOptionsValidator : IValidateOptions<ServerOptions>;

[OptionsValidator]
public sealed partial class RedisOptionsValidator : IValidateOptions<RedisOptions>;

[OptionsValidator]
public sealed partial class ClickHouseOptionsValidator : IValidateOptions<ClickHouseOptions>;

[OptionsValidator]
public sealed partial class EngineOptionsValidator : IValidateOptions<EngineOptions>;

[OptionsValidator]
public sealed partial class ApiOptionsValidator : IValidateOptions<ApiOptions>;
