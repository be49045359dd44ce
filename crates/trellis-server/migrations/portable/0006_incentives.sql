-- Incentives: sales-out lines imported in batches, FX rates, statements.

CREATE TABLE fx_rates (
    from_currency TEXT NOT NULL,
    to_currency   TEXT NOT NULL,
    valid_from    TEXT NOT NULL,
    rate          TEXT NOT NULL,
    PRIMARY KEY (from_currency, to_currency, valid_from)
);

CREATE TABLE sales_batches (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    source      TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    lines       BIGINT NOT NULL,
    imported    BIGINT NOT NULL,
    duplicates  BIGINT NOT NULL,
    held        BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('imported','rolled-back')),
    rolled_back_at TEXT
);

CREATE TABLE sales (
    transaction_id   TEXT PRIMARY KEY,
    batch_id         TEXT NOT NULL REFERENCES sales_batches(id),
    line             BIGINT NOT NULL,
    day              TEXT NOT NULL,
    partner_id       TEXT NOT NULL REFERENCES partners(id),
    customer_name    TEXT NOT NULL,
    customer_domain  TEXT,
    customer_country TEXT NOT NULL,
    sku              TEXT NOT NULL,
    quantity         TEXT NOT NULL,
    unit_price       TEXT NOT NULL,
    currency         TEXT NOT NULL,
    deal_id          TEXT,
    seller           TEXT,
    held             INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sales_day ON sales (day, partner_id);
CREATE INDEX sales_batch ON sales (batch_id);

CREATE TABLE statements (
    id          TEXT PRIMARY KEY,
    program_id  TEXT NOT NULL REFERENCES programs(id),
    version     BIGINT NOT NULL,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    period      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('draft','approved')),
    total       TEXT NOT NULL,
    funds       TEXT NOT NULL,
    lines       TEXT NOT NULL,
    next_bands  TEXT NOT NULL,
    calculated_at TEXT NOT NULL,
    approved_at TEXT,
    approved_by TEXT REFERENCES users(id)
);
CREATE UNIQUE INDEX statements_one_draft ON statements (program_id, partner_id, period) WHERE status = 'draft';

CREATE TABLE statement_disputes (
    id           TEXT PRIMARY KEY,
    statement_id TEXT NOT NULL REFERENCES statements(id),
    rule         TEXT NOT NULL,
    comment      TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id),
    at           TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open','resolved')),
    answer       TEXT,
    answered_by  TEXT REFERENCES users(id),
    answered_at  TEXT
);
CREATE INDEX statement_disputes_statement ON statement_disputes (statement_id);
