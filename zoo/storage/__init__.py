"""The database: engine and sessions, tables, schema versions, backups, demo data."""
