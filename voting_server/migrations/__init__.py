"""Alembic migrations of the voting database (a package so that wheels ship them)."""
