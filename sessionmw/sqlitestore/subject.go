package sqlitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/internal/sqlstore"
)

// SubjectSessions implements sessionmw.SubjectIndex: it returns the live
// sessions whose Meta.Subject is subject, oldest first (by Meta.Created,
// then by id in byte order), with one SELECT on the subject index. The
// empty subject (anonymous sessions) is not indexed and gives an empty
// list.
func (s *Store) SubjectSessions(ctx context.Context, subject string) ([]sessionmw.SessionInfo, error) {
	where := fmt.Sprintf("sessionmw: sqlitestore: list sessions of subject %s in %s", sessionmw.Fingerprint(subject), s.path)
	if s.closed.Load() {
		return nil, s.closedError(where)
	}
	if subject == "" {
		return nil, nil
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rows, err := s.stmt.subject.QueryContext(octx, subject, time.Now().UnixNano())
	if err != nil {
		return nil, s.classify(ctx, where, err)
	}
	defer rows.Close()
	var infos []sessionmw.SessionInfo
	for rows.Next() {
		var info sessionmw.SessionInfo
		var meta string
		if err := rows.Scan(&info.ID, &meta); err != nil {
			return nil, s.classify(ctx, where, err)
		}
		if info.Meta, err = sqlstore.DecodeMeta([]byte(meta)); err != nil {
			return nil, fmt.Errorf("%s: session %s: decode metadata: %w", where, sessionmw.Fingerprint(info.ID), err)
		}
		infos = append(infos, info)
	}
	if err := rows.Err(); err != nil {
		return nil, s.classify(ctx, where, err)
	}
	return infos, nil
}
