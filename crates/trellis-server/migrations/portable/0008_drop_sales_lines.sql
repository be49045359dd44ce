-- The row-per-line `sales` table of migration 6 was replaced by segments in
-- migration 7 before any release; nothing reads or writes it any more.
DROP TABLE sales;
