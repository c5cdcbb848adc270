package allocator

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Factory builds an allocator from a validated config (Offer is set).
type Factory func(cfg Config) (Allocator, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{
		"drf":     func(cfg Config) (Allocator, error) { return NewDRF(cfg), nil },
		"binpack": func(cfg Config) (Allocator, error) { return NewBinPack(cfg), nil },
	}
)

// Register makes an allocator available to New under name, typically from
// an init function. It panics if name is empty, f is nil or name is taken,
// since each is a programming error caught at start-up.
func Register(name string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || f == nil {
		panic("allocator: Register needs a name and a factory")
	}
	if _, ok := registry[name]; ok {
		panic(fmt.Sprintf("allocator: %q registered twice", name))
	}
	registry[name] = f
}

// Names returns the registered allocator names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// New builds the allocator registered under name (the -allocator flag).
// An unknown name yields an error wrapping ErrUnknownAllocator that lists
// the known names.
func New(name string, cfg Config) (Allocator, error) {
	if err := Check(name); err != nil {
		return nil, err
	}
	registryMu.RLock()
	f := registry[name]
	registryMu.RUnlock()
	if cfg.Offer == nil {
		return nil, ErrNoOfferCallback
	}
	return f(cfg)
}

// Check reports whether name is registered: nil, or an error wrapping
// ErrUnknownAllocator that lists the known names.
func Check(name string) error {
	registryMu.RLock()
	_, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return fmt.Errorf("%w %q (known: %s)", ErrUnknownAllocator, name, strings.Join(Names(), ", "))
	}
	return nil
}
