-- The workspace lists a bidder's applications and questions across trades.
CREATE INDEX applications_by_usci ON applications (usci, applied_at);
CREATE INDEX clarifications_by_asker ON clarifications (asker_id, asked_at);
