package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	"github.com/sessionmw/go/sessionmw"
	"github.com/sessionmw/go/sessionmw/config"
	"github.com/sessionmw/go/sessionmw/redisstore"
)

// connectTimeout bounds connecting to a Redis or Valkey storage.
const connectTimeout = 10 * time.Second

// stores owns the stores built from storages.yaml. A reload keeps every
// store whose entry did not change, so that its sessions, and for a memory
// store the sessions themselves, survive; the others are closed once no
// request uses them.
type stores struct {
	log    *slog.Logger
	byName map[string]*ownedStore
	extra  []io.Closer // placeholders and the default store
}

type ownedStore struct {
	spec  config.StorageSpec
	store sessionmw.Store
	users int // generations using it
}

func newStores(log *slog.Logger) *stores {
	return &stores{log: log, byName: map[string]*ownedStore{}}
}

// placeholder returns a memory store closed with the others.
func (s *stores) placeholder() sessionmw.Store {
	m := sessionmw.NewMemoryIO()
	s.extra = append(s.extra, m)
	return m
}

// acquire returns the stores for specs, reusing unchanged ones; every
// store it returns is counted as used until release.
func (s *stores) acquire(ctx context.Context, specs []config.StorageSpec) ([]*ownedStore, error) {
	var got []*ownedStore
	for _, spec := range specs {
		if o, ok := s.byName[spec.Name]; ok && o.spec.Same(spec) {
			o.users++
			got = append(got, o)
			continue
		}
		store, err := open(ctx, spec)
		if err != nil {
			s.release(got)
			return nil, err
		}
		got = append(got, &ownedStore{spec: spec, store: store, users: 1})
	}
	return got, nil
}

// adopt makes used the stores of the running generation: a changed entry
// replaces the old store, which stays open for its users.
func (s *stores) adopt(used []*ownedStore) {
	for _, o := range used {
		s.byName[o.spec.Name] = o
	}
	for name, o := range s.byName {
		if !contains(used, o) {
			delete(s.byName, name)
		}
	}
}

func contains(list []*ownedStore, o *ownedStore) bool {
	for _, x := range list {
		if x == o {
			return true
		}
	}
	return false
}

// release drops a generation's use of stores, closing those no generation
// uses and no configuration names any more.
func (s *stores) release(used []*ownedStore) {
	for _, o := range used {
		o.users--
		if o.users == 0 && s.byName[o.spec.Name] != o {
			s.close(o)
		}
	}
}

func (s *stores) close(o *ownedStore) {
	if c, ok := o.store.(io.Closer); ok {
		if err := c.Close(); err != nil {
			s.log.Warn("closing a storage failed", slog.String("storage", o.spec.Name), slog.Any("error", err))
		}
	}
}

func (s *stores) closeAll() {
	for name, o := range s.byName {
		s.close(o)
		delete(s.byName, name)
	}
	for _, c := range s.extra {
		c.Close()
	}
	s.extra = nil
}

// open builds the store an entry of storages.yaml describes.
func open(ctx context.Context, spec config.StorageSpec) (sessionmw.Store, error) {
	switch spec.Type {
	case config.StorageMemory:
		var opts []sessionmw.MemoryOption
		if spec.MaxEntries > 0 {
			opts = append(opts, sessionmw.WithMaxEntries(spec.MaxEntries))
		}
		return sessionmw.NewMemoryIO(opts...), nil
	case config.StorageValkey, config.StorageRedis:
		var opts []redisstore.Option
		if spec.Prefix != "" {
			opts = append(opts, redisstore.WithPrefix(spec.Prefix))
		}
		if spec.Timeout > 0 {
			opts = append(opts, redisstore.WithTimeout(spec.Timeout))
		}
		if spec.ClientCache > 0 {
			opts = append(opts, redisstore.WithClientCache(spec.ClientCache))
		}
		ctx, cancel := context.WithTimeout(ctx, connectTimeout)
		defer cancel()
		st, err := redisstore.New(ctx, spec.URL, opts...)
		if err != nil {
			return nil, spec.Errorf("%v", err) // redisstore never puts the password in an error
		}
		return st, nil
	}
	return nil, spec.Errorf("%v", errors.New("unknown type "+spec.Type))
}
