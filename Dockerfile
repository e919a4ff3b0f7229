# TradeStore container image: build with the .NET SDK, run on the ASP.NET Core runtime.
#   docker build --build-arg SOURCE_REVISION="$(git rev-parse HEAD)" -t tradestore:local .
#   docker run --rm -p 127.0.0.1:5080:5080 -v tradestore-data:/var/lib/tradestore tradestore:local
# It listens on 0.0.0.0, so serve refuses to start until API keys are configured: see docs/operations.md,
# "Container image". scripts/check-dockerfile.sh replays the build stage without a Docker daemon.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Project files first, so the restore layer is cached until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props TradeStore.slnx ./
COPY src/TradeStore.Core/TradeStore.Core.csproj src/TradeStore.Core/
COPY src/TradeStore.Storage/TradeStore.Storage.csproj src/TradeStore.Storage/
COPY src/TradeStore.Redis/TradeStore.Redis.csproj src/TradeStore.Redis/
COPY src/TradeStore.ClickHouse/TradeStore.ClickHouse.csproj src/TradeStore.ClickHouse/
COPY src/TradeStore.Cluster/TradeStore.Cluster.csproj src/TradeStore.Cluster/
COPY src/TradeStore.Guard/TradeStore.Guard.csproj src/TradeStore.Guard/
COPY src/TradeStore.Server/TradeStore.Server.csproj src/TradeStore.Server/
COPY src/TradeStore.Cli/TradeStore.Cli.csproj src/TradeStore.Cli/
RUN dotnet restore src/TradeStore.Cli/TradeStore.Cli.csproj
COPY src/ src/
# The commit the image is built from, shown by `tradestore --version` and the start-up line as 0.1.0+<commit> (the
# context has no .git, so without it an image says 0.1.0 alone and an upgraded node cannot be told from an old one):
#   docker build --build-arg SOURCE_REVISION="$(git rev-parse HEAD)" -t tradestore:local .
ARG SOURCE_REVISION=
RUN dotnet publish src/TradeStore.Cli/TradeStore.Cli.csproj -c Release --no-restore -o /app ${SOURCE_REVISION:+-p:SourceRevisionId=$SOURCE_REVISION}

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app ./
# The aspnet image has the unprivileged user `app`; the database lives on a volume it owns.
RUN mkdir -p /var/lib/tradestore && chown app:app /var/lib/tradestore
USER app
WORKDIR /var/lib/tradestore
ENV TRADESTORE__STORAGE__DATADIRECTORY=/var/lib/tradestore \
    TRADESTORE__SERVER__URLS=http://0.0.0.0:5080
VOLUME ["/var/lib/tradestore"]
EXPOSE 5080
STOPSIGNAL SIGTERM
# The guard is PID 1 and supervises serve; `docker stop -t 40` leaves room for its 30 s grace period.
ENTRYPOINT ["/app/tradestore"]
CMD ["guard", "--", "serve"]
