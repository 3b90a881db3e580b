-- The schema of pgstore, applied by Store.Migrate. {table} is the table
-- (WithTable, default sessionmw_sessions), {name} its name without a
-- schema. Every statement is idempotent.
CREATE TABLE IF NOT EXISTS {table} (
	id        text COLLATE "C" PRIMARY KEY,
	keys      bytea[] NOT NULL,
	vals      bytea[] NOT NULL,
	meta      json NOT NULL,
	subject   text COLLATE "C" NOT NULL,
	successor text COLLATE "C" NOT NULL,
	created   bigint NOT NULL,
	expires   timestamptz NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX IF NOT EXISTS {name}_subject_idx ON {table} (subject, created, id) WHERE subject <> '';
