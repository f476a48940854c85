-- Pages of the availability list (GET /api/packages/availability?limit=&after=).
--
-- A page is the next N active packages after a cursor in (name COLLATE "C", id) order: with
-- this index that is an index range scan of N entries, instead of sorting every active
-- package for each page (make bench: 100 pages of 1,000 at 100k packages). Packages are
-- written rarely, so the index costs the POS nothing on its hot path.
CREATE INDEX idx_packages_active_name_c ON packages (name COLLATE "C", id) WHERE is_active;
