-- TradeStore schema v1: the journal, current state and sink checkpoints.
-- Times are UTC with microseconds (TIMESTAMP holds no zone; every writer stores UTC).
-- Money is DECIMAL(18,8): 10 integer digits, 8 decimals; notionals are DECIMAL(38,16), exact products.

CREATE TABLE trade_events (
    seq             BIGINT        NOT NULL PRIMARY KEY CHECK (seq >= 1),
    trade_id        VARCHAR       NOT NULL CHECK (length(trade_id) BETWEEN 1 AND 64),
    version         BIGINT        NOT NULL CHECK (version >= 1),
    event_type      VARCHAR       NOT NULL CHECK (event_type IN ('create', 'amend', 'fill', 'cancel', 'delete')),
    account         VARCHAR       NOT NULL CHECK (length(account) BETWEEN 1 AND 64),
    symbol          VARCHAR       NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
    side            VARCHAR       NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        DECIMAL(18,8) NOT NULL CHECK (quantity > 0),
    price           DECIMAL(18,8) NOT NULL CHECK (price >= 0),
    filled_quantity DECIMAL(18,8) NOT NULL CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    filled_notional DECIMAL(38,16) NOT NULL CHECK (filled_notional >= 0),
    last_quantity   DECIMAL(18,8) CHECK (last_quantity > 0),
    last_price      DECIMAL(18,8) CHECK (last_price >= 0),
    status          VARCHAR       NOT NULL CHECK (status IN ('new', 'partially_filled', 'filled', 'cancelled', 'deleted')),
    venue           VARCHAR,
    trader          VARCHAR,
    executed_at     TIMESTAMP     NOT NULL,
    created_at      TIMESTAMP     NOT NULL,
    recorded_at     TIMESTAMP     NOT NULL,
    idempotency_key VARCHAR,
    UNIQUE (trade_id, version),
    CHECK ((event_type = 'fill') = (last_quantity IS NOT NULL AND last_price IS NOT NULL))
);

CREATE TABLE trade_state (
    trade_id        VARCHAR       NOT NULL PRIMARY KEY,
    version         BIGINT        NOT NULL CHECK (version >= 1),
    last_seq        BIGINT        NOT NULL,
    account         VARCHAR       NOT NULL,
    symbol          VARCHAR       NOT NULL,
    side            VARCHAR       NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity        DECIMAL(18,8) NOT NULL CHECK (quantity > 0),
    price           DECIMAL(18,8) NOT NULL CHECK (price >= 0),
    filled_quantity DECIMAL(18,8) NOT NULL CHECK (filled_quantity >= 0 AND filled_quantity <= quantity),
    filled_notional DECIMAL(38,16) NOT NULL CHECK (filled_notional >= 0),
    status          VARCHAR       NOT NULL CHECK (status IN ('new', 'partially_filled', 'filled', 'cancelled', 'deleted')),
    venue           VARCHAR,
    trader          VARCHAR,
    executed_at     TIMESTAMP     NOT NULL,
    created_at      TIMESTAMP     NOT NULL,
    updated_at      TIMESTAMP     NOT NULL
);

-- One row per derived store (redis, clickhouse): the last journal seq it has applied.
CREATE TABLE sync_checkpoints (
    sink       VARCHAR   NOT NULL PRIMARY KEY,
    last_seq   BIGINT    NOT NULL CHECK (last_seq >= 0),
    updated_at TIMESTAMP NOT NULL
);
