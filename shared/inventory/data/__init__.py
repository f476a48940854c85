"""Access to PostgreSQL and DynamoDB behind small, typed functions."""
