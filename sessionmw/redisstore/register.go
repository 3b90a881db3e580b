package redisstore

import "github.com/sessionmw/go/sessionmw"

// StorageNames are the storage names the gateway plugin's YAML uses for a
// Redis or Valkey store ("storage: ValkeySessionStorage").
var StorageNames = []string{"ValkeySessionStorage", "RedisSessionStorage"}

// Storages returns s under every name in StorageNames, for the
// configuration loader:
//
//	s, err := redisstore.New(ctx, "redis://127.0.0.1:6379/0")
//	mws, err := config.LoadFile("middlewares.yaml", config.Options{
//		Secret:   key,
//		Storages: redisstore.Storages(s),
//	})
func Storages(s *Store) map[string]sessionmw.Store {
	m := make(map[string]sessionmw.Store, len(StorageNames))
	for _, n := range StorageNames {
		m[n] = s
	}
	return m
}
