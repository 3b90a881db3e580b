package pgstore

import "context"

// DeleteExpired runs one round of the background cleaner on s; DeleteBatch
// one of its DELETEs. Each returns how many sessions it deleted.
func DeleteExpired(ctx context.Context, s *Store) (int64, error) { return s.deleteExpired(ctx) }
func DeleteBatch(ctx context.Context, s *Store) (int64, error)   { return s.deleteBatch(ctx) }

// Schema returns the statements Migrate runs for table.
func Schema(table string) string { return schema(table) }
