-- Supervisors' interventions (电子招标投标办法 第52条): a suspended trade keeps the time it
-- was suspended, so that resuming can shift its deadline by the time lost.
ALTER TABLE trades ADD COLUMN suspended_at BIGINT;
