-- The cooldown claim each notification was stored under (services/delivery.py). A claim is a
-- short lease until its notification is committed; a run that dies after the commit but before
-- confirming leaves a lease that ends, and the next run's claim learns the dead run's token.
-- Its insert then finds the row holding that token and stores nothing: no alert twice. UNIQUE
-- also makes a retried insert (a connection that broke after the commit) store nothing twice.
-- Rows written before this migration have none (NULLs never conflict).
ALTER TABLE notifications ADD COLUMN claim_token uuid UNIQUE;
