-- Tender bonds (投标保证金) reported by the bank (ADR 0012): the bidder a bond is for, as
-- the bank names it, so that bonds of several bidders paid from one account are seen.
ALTER TABLE bank_notifications ADD COLUMN bidder_usci TEXT;
ALTER TABLE bank_notifications ADD COLUMN payer_account TEXT;
