-- Sales-out lines stored as segments (see trellis_core::segment): up to
-- 65,536 lines of one batch per row, in three byte columns, so that millions
-- of lines are written and read as a few hundred rows. The row-per-line
-- `sales` table of migration 6 is no longer written: when the database is
-- migrated, lines left in it are moved into segments.

CREATE TABLE sales_segments (
    batch_id   TEXT NOT NULL REFERENCES sales_batches(id),
    seq        BIGINT NOT NULL,
    lines      BIGINT NOT NULL,
    held       BIGINT NOT NULL,
    first_day  TEXT NOT NULL,
    last_day   TEXT NOT NULL,
    facts      BYTEA NOT NULL,
    ids        BYTEA NOT NULL,
    customers  BYTEA NOT NULL,
    PRIMARY KEY (batch_id, seq)
);
CREATE INDEX sales_segments_days ON sales_segments (first_day, last_day);
-- The segments are compact already: no TOAST compression (it would cost
-- CPU on every write and read and gain little).
ALTER TABLE sales_segments ALTER COLUMN facts SET STORAGE EXTERNAL;
ALTER TABLE sales_segments ALTER COLUMN ids SET STORAGE EXTERNAL;
ALTER TABLE sales_segments ALTER COLUMN customers SET STORAGE EXTERNAL;
