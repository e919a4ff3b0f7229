-- Lets a binary from before the journal log open this database; it ignores journal/ and serves what DuckDB holds.
-- tradestore migrate down refuses this step while journal/ holds events past DuckDB's max(seq), which that binary would not serve.
COMMENT ON TABLE trade_events IS NULL;
