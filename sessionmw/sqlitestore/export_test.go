package sqlitestore

import "context"

// DeleteExpired runs one round of the background cleaner on s; DeleteBatch
// one of its transactions. Each returns how many sessions it deleted.
func DeleteExpired(ctx context.Context, s *Store) (int64, error) { return s.deleteExpired(ctx) }
func DeleteBatch(ctx context.Context, s *Store) (int64, error)   { return s.deleteBatch(ctx) }
