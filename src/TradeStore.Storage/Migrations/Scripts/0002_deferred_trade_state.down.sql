-- Drops the view current_trade_state and the 'trade_state' checkpoint, after folding the journal tail into trade_state.
INSERT OR REPLACE INTO trade_state
SELECT * FROM current_trade_state
WHERE last_seq > (SELECT coalesce(max(last_seq), 0) FROM sync_checkpoints WHERE sink = 'trade_state');
DROP VIEW current_trade_state;
DELETE FROM sync_checkpoints WHERE sink = 'trade_state';
