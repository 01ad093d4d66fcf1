-- Trigram indexes for app search (ILIKE '%term%'). pg_trgm is a trusted
-- extension (PostgreSQL 13+), so the database owner may create it; PGlite
-- loads it through the contrib module passed in src/repository/db.ts.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
