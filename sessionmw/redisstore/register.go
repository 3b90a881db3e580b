package redisstore

import (
	"errors"

	"github.com/sessionmw/go/sessionmw"
)

// StorageNames are the storage names the gateway plugin's YAML uses for a
// Redis or Valkey store ("storage: ValkeySessionStorage").
var StorageNames = []string{"ValkeySessionStorage", "RedisSessionStorage"}

// Register makes s available to configuration loaders (package
// sessionmw/config) under names, by default StorageNames:
//
//	s, err := redisstore.New(ctx, "redis://127.0.0.1:6379/0")
//	err = redisstore.Register(s)
//	mws, err := config.LoadFile("middlewares.yaml", config.Options{Secret: key})
//
// It stops at the first name that is already registered.
func Register(s *Store, names ...string) error {
	if s == nil {
		return errors.New("sessionmw: redisstore: Register: nil store")
	}
	if len(names) == 0 {
		names = StorageNames
	}
	for _, n := range names {
		if err := sessionmw.RegisterStorage(n, s); err != nil {
			return err
		}
	}
	return nil
}
