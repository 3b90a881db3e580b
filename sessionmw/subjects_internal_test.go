package sessionmw

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

type indexedStore interface {
	clockedStore
	Store
	SubjectIndex
	pruneSubject(id, subject string)
	index() *subjectIndex
}

func (s *MemoryIO) index() *subjectIndex       { return &s.subjects }
func (s *RistrettoStore) index() *subjectIndex { return &s.subjects }

func indexedStores(t *testing.T) map[string]indexedStore {
	rs, err := NewRistrettoStore(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	ms := NewMemoryIO(WithSweepInterval(0))
	t.Cleanup(func() { rs.Close(); ms.Close() })
	return map[string]indexedStore{"MemoryIO": ms, "RistrettoStore": rs}
}

func listed(t *testing.T, s indexedStore, subject, id string) bool {
	t.Helper()
	infos, err := s.SubjectSessions(t.Context(), subject)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id {
			return true
		}
	}
	return false
}

// An id whose record expired (and whose index entry a listing pruned) is
// indexed again when it is saved anew for the same subject.
func TestSubjectIndexReindexesExpiredID(t *testing.T) {
	for name, s := range indexedStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			id := uuid.NewString()
			past := time.Now().Add(-time.Hour).UnixNano()
			up := Update{Replace: true, Meta: Meta{Subject: "alice", Saved: past}}
			if _, err := s.saveAt(ctx, id, up, time.Minute, past); err != nil {
				t.Fatal(err)
			}
			if listed(t, s, "alice", id) {
				t.Fatal("an expired session is listed")
			}
			now := time.Now().UnixNano()
			up.Meta.Saved = now
			if _, err := s.saveAt(ctx, id, up, time.Hour, now); err != nil {
				t.Fatal(err)
			}
			if !listed(t, s, "alice", id) {
				t.Fatal("the session saved again under the same id and subject is not listed")
			}
		})
	}
}

// A prune that lost the race with a save (the listing saw the id dead, the
// save revived it) leaves the entry alone.
func TestSubjectIndexPruneRechecks(t *testing.T) {
	for name, s := range indexedStores(t) {
		t.Run(name, func(t *testing.T) {
			id := uuid.NewString()
			now := time.Now().UnixNano()
			if _, err := s.saveAt(t.Context(), id, Update{Replace: true, Meta: Meta{Subject: "bob", Saved: now}}, time.Hour, now); err != nil {
				t.Fatal(err)
			}
			s.pruneSubject(id, "bob")
			if !listed(t, s, "bob", id) {
				t.Fatal("prune removed a live session's entry")
			}
			s.pruneSubject(id, "carol") // not carol's: removed (a no-op here)
			if !listed(t, s, "bob", id) {
				t.Fatal("pruning another subject's entry touched bob's")
			}
		})
	}
}

// Saving a live logged-in session whose subject does not change does not
// take the index's store-wide lock.
func TestSubjectIndexUnchangedSubjectTakesNoLock(t *testing.T) {
	for name, s := range indexedStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			id := uuid.NewString()
			now := time.Now().UnixNano()
			if _, err := s.saveAt(ctx, id, Update{Replace: true, Meta: Meta{Subject: "dan", Saved: now}}, time.Hour, now); err != nil {
				t.Fatal(err)
			}
			x := s.index()
			x.mu.Lock()
			done := make(chan error, 1)
			go func() {
				_, err := s.saveAt(ctx, id, Update{Set: []Entry{{Key: "n", Value: 1}}, Meta: Meta{Subject: "dan", Saved: now + 1}}, time.Hour, now+1)
				done <- err
			}()
			select {
			case err := <-done:
				x.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				x.mu.Unlock()
				<-done
				t.Fatal("the save waited for the subject index's lock")
			}
		})
	}
}
