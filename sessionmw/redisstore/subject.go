package redisstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valkey-io/valkey-go"

	"github.com/sessionmw/go/sessionmw"
)

// indexSlack is how much longer than its session an entry stays in a
// subject's index before it is pruned by time. In a cluster the session
// and the index are on different nodes, whose scripts run in either order;
// the slack covers the gap, so that an entry is never pruned while its
// session lives. Entries of sessions that are gone are never returned:
// SubjectSessions checks every session it lists.
const indexSlack = time.Second

// indexEntry is one member of a subject's index, with its score as read.
type indexEntry struct {
	id    string
	score string
}

// SubjectSessions implements sessionmw.SubjectIndex: it returns the live
// sessions whose Meta.Subject is subject, oldest first (by Meta.Created,
// then by id). The empty subject (anonymous sessions) is not indexed and
// gives an empty list.
//
// It costs two round trips whatever the number of sessions: one script
// prunes the subject's index of expired entries and returns the rest, and
// one pipeline reads every listed session's metadata (HMGET). The index
// is advisory: a session that is gone, or whose subject changed, is left
// out of the result and its entry removed, in a third round trip.
func (s *Store) SubjectSessions(ctx context.Context, subject string) ([]sessionmw.SessionInfo, error) {
	if s.closed.Load() {
		return nil, fmt.Errorf("%s: %w", s.whereSubject(subject), sessionmw.ErrStoreClosed)
	}
	if subject == "" {
		return nil, nil
	}
	octx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	res := s.runScripts(octx, scriptCall{listScript, []string{s.subjectKey(subject)}, nil})[0]
	if err := res.Error(); err != nil {
		return nil, s.classify(ctx, s.whereSubject(subject), err)
	}
	flat, err := res.AsStrSlice()
	if err != nil || len(flat)%2 != 0 {
		return nil, fmt.Errorf("%s: unexpected reply: %v", s.whereSubject(subject), err)
	}
	if len(flat) == 0 {
		return nil, nil
	}
	entries := make([]indexEntry, len(flat)/2)
	cmds := make(valkey.Commands, len(entries))
	for i := range entries {
		entries[i] = indexEntry{id: flat[2*i], score: flat[2*i+1]}
		cmds[i] = s.client.B().Hmget().Key(s.sessionKey(entries[i].id)).Field(metaFields...).Build()
	}
	infos := make([]sessionmw.SessionInfo, 0, len(entries))
	var stale []indexEntry
	for i, r := range s.client.DoMulti(octx, cmds...) {
		if err := r.Error(); err != nil {
			return nil, s.classify(ctx, s.whereSubject(subject), err)
		}
		vals, err := r.ToArray()
		if err != nil || len(vals) != len(metaFields) {
			return nil, fmt.Errorf("%s: unexpected reply: %v", s.whereSubject(subject), err)
		}
		info := sessionmw.SessionInfo{ID: entries[i].id}
		for j, v := range vals {
			if v.IsNil() {
				continue // a field this session lacks (or no session)
			}
			raw, err := v.ToString()
			if err != nil {
				return nil, fmt.Errorf("%s: unexpected reply: %w", s.whereSubject(subject), err)
			}
			if _, err := decodeMeta(&info.Meta, metaFields[j], raw); err != nil {
				return nil, fmt.Errorf("%s: session %s: decode field %q: %w", s.whereSubject(subject), fingerprint(info.ID), metaFields[j], err)
			}
		}
		if info.Meta.Subject != subject { // gone, or moved to another subject
			stale = append(stale, entries[i])
			continue
		}
		infos = append(infos, info)
	}
	s.dropEntries(octx, subject, stale)
	slices.SortFunc(infos, func(a, b sessionmw.SessionInfo) int {
		return cmp.Or(cmp.Compare(a.Meta.Created, b.Meta.Created), strings.Compare(a.ID, b.ID))
	})
	return infos, nil
}

// dropEntries removes entries from subject's index, each only if its
// score has not changed since it was read (see removeScript). It is
// housekeeping: a failure only leaves entries for a later call to drop.
func (s *Store) dropEntries(ctx context.Context, subject string, entries []indexEntry) {
	if len(entries) == 0 {
		return
	}
	args := make([]string, 0, 2*len(entries))
	for _, e := range entries {
		args = append(args, e.id, e.score)
	}
	_ = s.runScripts(ctx, scriptCall{removeScript, []string{s.subjectKey(subject)}, args})
}

// unindexMoved takes id out of the index of subject, its subject before a
// Save gave it another. The index entry is read first and the session
// after it (in this order: in a cluster they are on two nodes), so that a
// concurrent Save that gives the session its old subject back either is
// seen, or raises the entry's score and keeps it.
func (s *Store) unindexMoved(ctx context.Context, subject, id string) {
	score, err := s.client.Do(ctx, s.client.B().Zscore().Key(s.subjectKey(subject)).Member(id).Build()).AsFloat64()
	if err != nil {
		return // no entry, or no answer: SubjectSessions will drop it
	}
	cur, err := s.client.Do(ctx, s.client.B().Hget().Key(s.sessionKey(id)).Field(fieldSubject).Build()).ToString()
	if (err != nil && !valkey.IsValkeyNil(err)) || cur == subject {
		return
	}
	s.dropEntries(ctx, subject, []indexEntry{{id, strconv.FormatFloat(score, 'f', -1, 64)}})
}

// whereSubject names an operation on a subject's index for an error
// message: a fingerprint of the subject (which may be an e-mail address)
// and the server.
func (s *Store) whereSubject(subject string) string {
	return fmt.Sprintf("sessionmw: redisstore: list sessions of subject %s on %s", fingerprint(subject), s.addr)
}
