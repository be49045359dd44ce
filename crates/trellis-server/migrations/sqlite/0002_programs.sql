-- Programs as code: each program (by its [program].id) has numbered versions,
-- draft -> published -> retired. A published or retired version never changes.
CREATE TABLE programs (
    id         TEXT PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE program_versions (
    id           TEXT PRIMARY KEY,
    program_id   TEXT NOT NULL REFERENCES programs(id),
    number       INTEGER NOT NULL,
    label        TEXT NOT NULL,
    effective    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('draft','published','retired')),
    source       TEXT NOT NULL,
    sha256       TEXT NOT NULL,
    errors       INTEGER NOT NULL,
    warnings     INTEGER NOT NULL,
    created_by   TEXT REFERENCES users(id),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    published_at TEXT,
    published_by TEXT REFERENCES users(id),
    retired_at   TEXT,
    UNIQUE (program_id, number)
);
-- At most one version of a program is in force.
CREATE UNIQUE INDEX program_versions_one_published ON program_versions (program_id) WHERE status = 'published';

-- Only drafts change; the one change a published version allows is retirement.
CREATE TRIGGER program_versions_immutable BEFORE UPDATE ON program_versions
WHEN OLD.status <> 'draft' AND NOT (
    OLD.status = 'published' AND NEW.status = 'retired'
    AND NEW.source = OLD.source AND NEW.sha256 = OLD.sha256 AND NEW.label = OLD.label
    AND NEW.effective = OLD.effective AND NEW.number = OLD.number
    AND NEW.program_id = OLD.program_id AND NEW.published_at IS OLD.published_at
)
BEGIN
    SELECT RAISE(ABORT, 'published program versions are immutable');
END;
CREATE TRIGGER program_versions_keep_published BEFORE DELETE ON program_versions
WHEN OLD.status <> 'draft'
BEGIN
    SELECT RAISE(ABORT, 'published program versions are immutable');
END;

-- Which programs a partner takes part in, as which type, in which segment, at
-- which tier or track (ids of the program's published version).
CREATE TABLE partner_programs (
    partner_id   TEXT NOT NULL REFERENCES partners(id),
    program_id   TEXT NOT NULL REFERENCES programs(id),
    partner_type TEXT NOT NULL,
    segment      TEXT NOT NULL,
    level        TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (partner_id, program_id)
);
CREATE INDEX partner_programs_program ON partner_programs (program_id);
