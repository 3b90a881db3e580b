package sqlitestore

import (
	"context"
	"time"
)

// clean deletes expired sessions every interval until ctx is done.
func (s *Store) clean(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.deleteExpired(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("sessionmw: sqlitestore: deleting expired sessions failed; trying again later",
				"file", s.path, "error", err)
		}
	}
}

// deleteExpired deletes expired sessions in transactions of at most
// s.batch sessions, each bounded by the timeout, until one is short. It
// returns how many it deleted.
func (s *Store) deleteExpired(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := s.deleteBatch(ctx)
		total += n
		if err != nil || n < int64(s.batch) {
			return total, err
		}
	}
}

// deleteBatch deletes at most s.batch expired sessions, their values with
// them (ON DELETE CASCADE).
func (s *Store) deleteBatch(ctx context.Context) (int64, error) {
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res, err := s.stmt.clean.ExecContext(octx, time.Now().UnixNano(), s.batch)
	if err != nil {
		return 0, s.classify(ctx, "sessionmw: sqlitestore: delete expired sessions in "+s.path, err)
	}
	return res.RowsAffected()
}
