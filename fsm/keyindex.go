package fsm

import "fmt"

// keyIndex indexes rows of type T by a string of theirs. Its keys are
// byte for byte those of memdb's StringFieldIndex ("value\x00"), so the
// state's trees and lookups are as they were, but a key is read without
// reflection and built with one allocation: tasks are looked up and
// inserted hundreds of thousands of times a minute at a data center's
// load, and the generic indexer's cost was half of each lookup.
type keyIndex[T any] struct{ key func(*T) string }

func (x keyIndex[T]) FromObject(obj any) (bool, []byte, error) {
	row, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("an index of %T rows was given a %T", (*T)(nil), obj)
	}
	v := x.key(row)
	if v == "" {
		return false, nil, nil
	}
	return true, keyBytes(v), nil
}

func (x keyIndex[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("must provide only a single argument")
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("argument must be a string: %#v", args[0])
	}
	return keyBytes(s), nil
}

// PrefixFromArgs is the key without its terminator.
func (x keyIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	b, err := x.FromArgs(args...)
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

// keyBytes is the strings, each followed by a 0 byte, in one allocation.
func keyBytes(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}
