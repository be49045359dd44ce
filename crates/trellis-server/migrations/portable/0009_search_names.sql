-- Names searched case-insensitively are kept lower-cased by Trellis itself
-- (Unicode-aware: SQLite's LOWER() knows only ASCII, so 'Ö' never matched
-- 'ö' there). Filled for existing rows by the migration's Rust step.
ALTER TABLE accounts ADD COLUMN search_name TEXT;
ALTER TABLE deals ADD COLUMN search_name TEXT;
CREATE INDEX accounts_search_name ON accounts (search_name);
