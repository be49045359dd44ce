-- Deal registration: the vendor's known accounts, partners' registrations
-- with their history, notifications waiting to be sent, and the change feed
-- that keeps every instance's in-memory matcher coherent.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    external_id TEXT UNIQUE,
    name        TEXT NOT NULL,
    domain      TEXT,
    country     TEXT NOT NULL,
    city        TEXT,
    owner       TEXT,
    house       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE deals (
    id                 TEXT PRIMARY KEY,
    partner_id         TEXT NOT NULL REFERENCES partners(id),
    program            TEXT,
    status             TEXT NOT NULL CHECK (status IN ('draft','submitted','approved','rejected','more-info','won','lost','expired')),
    customer_name      TEXT NOT NULL,
    customer_domain    TEXT,
    customer_country   TEXT NOT NULL,
    customer_city      TEXT,
    customer_address   TEXT,
    customer_tax_id    TEXT,
    products           TEXT,
    amount             TEXT NOT NULL,
    currency           TEXT NOT NULL,
    expected_close     TEXT NOT NULL,
    seller             TEXT,
    notes              TEXT,
    extra              TEXT NOT NULL DEFAULT '{}',
    conflict_score     TEXT,
    decision_rule      TEXT,
    decision_reason    TEXT,
    protection_until   TEXT,
    extensions         INTEGER NOT NULL DEFAULT 0,
    extension_requested_at TEXT,
    created_by         TEXT REFERENCES users(id),
    submitted_at       TEXT,
    decided_at         TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
);
CREATE INDEX deals_partner ON deals (partner_id, created_at);
CREATE INDEX deals_status ON deals (status, submitted_at);

CREATE TABLE deal_events (
    id          TEXT PRIMARY KEY,
    deal_id     TEXT NOT NULL REFERENCES deals(id),
    at          TEXT NOT NULL,
    actor_id    TEXT,
    actor_email TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT NOT NULL,
    rule        TEXT,
    reason      TEXT
);
CREATE INDEX deal_events_deal ON deal_events (deal_id, at);

CREATE TABLE outbox (
    id         TEXT PRIMARY KEY,
    at         TEXT NOT NULL,
    channel    TEXT NOT NULL CHECK (channel IN ('email','in-app')),
    user_id    TEXT REFERENCES users(id),
    recipient  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    link       TEXT,
    sent_at    TEXT,
    read_at    TEXT
);
CREATE INDEX outbox_user ON outbox (user_id, at);

CREATE TABLE match_changes (
    seq       BIGSERIAL PRIMARY KEY,
    at        TEXT NOT NULL,
    record_id TEXT NOT NULL,
    op        TEXT NOT NULL CHECK (op IN ('upsert','remove'))
);
