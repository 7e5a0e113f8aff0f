"""The store: typed models, the database engine and the schema (through Alembic migrations only)."""
