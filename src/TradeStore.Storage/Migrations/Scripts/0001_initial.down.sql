-- Drops every trade, event and checkpoint.
DROP TABLE sync_checkpoints;
DROP TABLE trade_state;
DROP TABLE trade_events;
