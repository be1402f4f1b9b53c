-- What a trade's announcement says in words (ADR 0037): overview, qualifications, contact
-- and a right's parcel, as JSON; absent for trades created before, or without them.
ALTER TABLE trades ADD COLUMN announcement TEXT;
