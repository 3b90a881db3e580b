package sessionmw

import (
	"fmt"
	"sort"
	"sync"
)

// The storage registry lets configuration name a store ("Storage:
// ValkeySessionStorage" in the gateway plugin's YAML) instead of building it.
var registry struct {
	mu     sync.RWMutex
	stores map[string]Store
}

// RegisterStorage makes store available under name to configuration
// loaders (see package sessionmw/config). Registering a name twice, an
// empty name or a nil store is an error.
func RegisterStorage(name string, store Store) error {
	if name == "" || store == nil {
		return fmt.Errorf("sessionmw: RegisterStorage: need a name and a store (got %q, %v)", name, store)
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.stores == nil {
		registry.stores = map[string]Store{}
	}
	if _, dup := registry.stores[name]; dup {
		return fmt.Errorf("sessionmw: RegisterStorage: %q is already registered", name)
	}
	registry.stores[name] = store
	return nil
}

// UnregisterStorage removes name from the registry (for tests and reloads).
func UnregisterStorage(name string) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	delete(registry.stores, name)
}

// LookupStorage returns the store registered under name.
func LookupStorage(name string) (Store, bool) {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	s, ok := registry.stores[name]
	return s, ok
}

// StorageNames lists the registered names, sorted.
func StorageNames() []string {
	registry.mu.RLock()
	defer registry.mu.RUnlock()
	names := make([]string, 0, len(registry.stores))
	for n := range registry.stores {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
