-- Alerts about what this platform follows (issue 8, ADR 0019): a followed platform whose
-- log stopped verifying, and risk findings across prefectures. Their `trade_id` names a
-- followed platform's trade as `<platform>/<trade id>`, or the platform alone, so it no
-- longer references a trade of ours.
ALTER TABLE alerts DROP CONSTRAINT IF EXISTS alerts_trade_id_fkey;
