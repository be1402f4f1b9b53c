-- The expert pool (评标专家库, issue 6, ADR 0013): an expert's specialties and the
-- organisations it declared a conflict of interest with, as the expert last stated them.
CREATE TABLE expert_profiles (
    identity_id TEXT PRIMARY KEY REFERENCES identities(id),
    specialties TEXT NOT NULL,
    conflicts   TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);
