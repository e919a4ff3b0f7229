-- TradeStore schema v2: trade_state is maintained off the writer's commit path (TradeStateFlusher), so it may lag
-- the journal. The 'trade_state' checkpoint is the last seq whose state it holds; current_trade_state is exact.

-- trade_state was written in each journal transaction until now: it holds every seq.
INSERT INTO sync_checkpoints (sink, last_seq, updated_at)
SELECT 'trade_state', coalesce(max(seq), 0), CAST(get_current_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP) FROM trade_events;

-- trade_state overlaid with the journal tail: for a trade with events after the checkpoint, the latest one's state.
CREATE VIEW current_trade_state AS
WITH tail AS (
    SELECT trade_id, version, seq AS last_seq, account, symbol, side, quantity, price, filled_quantity, filled_notional,
           status, venue, trader, executed_at, created_at, recorded_at AS updated_at
    FROM trade_events
    WHERE seq > (SELECT coalesce(max(last_seq), 0) FROM sync_checkpoints WHERE sink = 'trade_state')
    QUALIFY row_number() OVER (PARTITION BY trade_id ORDER BY seq DESC) = 1)
SELECT * FROM tail
UNION ALL
SELECT s.trade_id, s.version, s.last_seq, s.account, s.symbol, s.side, s.quantity, s.price, s.filled_quantity, s.filled_notional,
       s.status, s.venue, s.trader, s.executed_at, s.created_at, s.updated_at
FROM trade_state s ANTI JOIN tail t ON s.trade_id = t.trade_id;
