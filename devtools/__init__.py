"""Local tooling: embedded PostgreSQL, moto's DynamoDB server, migrations, demo data, runners."""
