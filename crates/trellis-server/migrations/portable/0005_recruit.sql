-- Recruiting and onboarding: applications from the public page, the
-- partnership lifecycle, agreements with their acceptances, onboarding tasks.

CREATE TABLE applications (
    id             TEXT PRIMARY KEY,
    created_at     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('submitted','more-info','approved','rejected')),
    program_id     TEXT REFERENCES programs(id),
    company        TEXT NOT NULL,
    domain         TEXT NOT NULL,
    country        TEXT NOT NULL,
    partner_type   TEXT NOT NULL,
    contact_name   TEXT NOT NULL,
    contact_email  TEXT NOT NULL,
    details        TEXT NOT NULL,
    score          TEXT,
    fit            TEXT NOT NULL,
    duplicates     TEXT NOT NULL,
    source_ip      TEXT NOT NULL,
    decided_at     TEXT,
    decided_by     TEXT REFERENCES users(id),
    reason         TEXT,
    partner_id     TEXT REFERENCES partners(id)
);
CREATE INDEX applications_queue ON applications (status, created_at);
CREATE INDEX applications_ip ON applications (source_ip, created_at);
-- One open application per company domain.
CREATE UNIQUE INDEX applications_open_domain ON applications (domain) WHERE status IN ('submitted','more-info');

ALTER TABLE partners ADD COLUMN stage TEXT NOT NULL DEFAULT 'formation'
    CHECK (stage IN ('formation','enablement','performing','renewal','suspended','terminated'));
UPDATE partners SET stage = 'performing' WHERE status = 'active';
UPDATE partners SET stage = 'suspended' WHERE status = 'suspended';
UPDATE partners SET stage = 'terminated' WHERE status = 'terminated';

CREATE TABLE partner_stage_events (
    id          TEXT PRIMARY KEY,
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    at          TEXT NOT NULL,
    actor_email TEXT NOT NULL,
    from_stage  TEXT,
    to_stage    TEXT NOT NULL,
    rule        TEXT,
    reason      TEXT NOT NULL
);
CREATE INDEX partner_stage_events_partner ON partner_stage_events (partner_id, at);

CREATE TABLE agreements (
    id           TEXT PRIMARY KEY,
    partner_type TEXT NOT NULL,
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    created_by   TEXT REFERENCES users(id),
    UNIQUE (partner_type, version)
);

CREATE TABLE agreement_acceptances (
    id           TEXT PRIMARY KEY,
    agreement_id TEXT NOT NULL REFERENCES agreements(id),
    partner_id   TEXT NOT NULL REFERENCES partners(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    at           TEXT NOT NULL,
    ip           TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    UNIQUE (agreement_id, partner_id)
);

CREATE TABLE onboarding_tasks (
    partner_id  TEXT NOT NULL REFERENCES partners(id),
    task_id     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    event       TEXT NOT NULL,
    done_at     TEXT,
    done_by     TEXT,
    PRIMARY KEY (partner_id, task_id)
);
