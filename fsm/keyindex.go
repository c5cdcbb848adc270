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

// pairIndex indexes rows of type T by two strings of theirs, with the
// keys memdb's CompoundIndex of two StringFieldIndexes gives
// ("first\x00second\x00").
type pairIndex[T any] struct{ key func(*T) (string, string) }

func (x pairIndex[T]) FromObject(obj any) (bool, []byte, error) {
	row, ok := obj.(*T)
	if !ok {
		return false, nil, fmt.Errorf("an index of %T rows was given a %T", (*T)(nil), obj)
	}
	a, b := x.key(row)
	if a == "" || b == "" {
		return false, nil, nil
	}
	return true, keyBytes(a, b), nil
}

func (x pairIndex[T]) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("non-equivalent argument count and index fields")
	}
	a, b, err := twoStrings(args)
	if err != nil {
		return nil, err
	}
	return keyBytes(a, b), nil
}

// PrefixFromArgs takes the first string, or the first and the start of
// the second.
func (x pairIndex[T]) PrefixFromArgs(args ...any) ([]byte, error) {
	switch len(args) {
	case 0:
		return nil, nil
	case 1:
		return x.prefixOne(args[0])
	case 2:
		a, b, err := twoStrings(args)
		if err != nil {
			return nil, err
		}
		k := keyBytes(a, b)
		return k[:len(k)-1], nil
	}
	return nil, fmt.Errorf("more arguments than index fields")
}

func (x pairIndex[T]) prefixOne(arg any) ([]byte, error) {
	a, ok := arg.(string)
	if !ok {
		return nil, fmt.Errorf("sub-index 0 error: argument must be a string: %#v", arg)
	}
	return []byte(a), nil
}

func twoStrings(args []any) (string, string, error) {
	for i, arg := range args {
		if _, ok := arg.(string); !ok {
			return "", "", fmt.Errorf("sub-index %d error: argument must be a string: %#v", i, arg)
		}
	}
	return args[0].(string), args[1].(string), nil
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
