package sessionmw

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
)

// subjectIndex maps subjects to the ids of their sessions, for the
// in-process stores' SubjectIndex capability. Entries may outlive their
// sessions (expiry, eviction); listing prunes them.
type subjectIndex struct {
	mu sync.Mutex
	m  map[string]map[string]struct{}
}

// move records that id now belongs to subject to instead of from ("" for
// none).
func (x *subjectIndex) move(id, from, to string) {
	if from == "" && to == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if from != "" && from != to {
		if set := x.m[from]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(x.m, from)
			}
		}
	}
	if to != "" {
		if x.m == nil {
			x.m = map[string]map[string]struct{}{}
		}
		if x.m[to] == nil {
			x.m[to] = map[string]struct{}{}
		}
		x.m[to][id] = struct{}{}
	}
}

// saved records that id now holds a session of subject; live says the id
// held a live session before, of subject prev. Call it under the store's
// lock for id. A live record is indexed under its subject already, so a
// save that keeps the subject takes no lock here; a dead record's entry
// may have been pruned, so it is written again.
func (x *subjectIndex) saved(id string, live bool, prev, subject string) {
	if !live {
		x.move(id, "", subject)
		return
	}
	if prev != subject {
		x.move(id, prev, subject)
	}
}

func (x *subjectIndex) ids(subject string) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	ids := make([]string, 0, len(x.m[subject]))
	for id := range x.m[subject] {
		ids = append(ids, id)
	}
	return ids
}

// list loads the subject's sessions through load. Entries that load shows
// dead go to prune, which must re-check them under the store's lock for
// the id (a concurrent save may have revived the id) before removing.
func (x *subjectIndex) list(ctx context.Context, subject string, load func(context.Context, string) (*Record, error), prune func(id, subject string)) ([]SessionInfo, error) {
	var out []SessionInfo
	for _, id := range x.ids(subject) {
		rec, err := load(ctx, id)
		if err != nil {
			return nil, err
		}
		if rec == nil || rec.Meta.Subject != subject {
			prune(id, subject)
			continue
		}
		out = append(out, SessionInfo{ID: id, Meta: rec.Meta})
	}
	slices.SortFunc(out, func(a, b SessionInfo) int {
		return cmp.Or(cmp.Compare(a.Meta.Created, b.Meta.Created), strings.Compare(a.ID, b.ID))
	})
	return out, nil
}
