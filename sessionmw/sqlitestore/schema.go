package sqlitestore

import _ "embed"

// schemaSQL creates the tables and indexes unless they exist.
//
//go:embed schema.sql
var schemaSQL string
