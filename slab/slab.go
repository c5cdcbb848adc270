// Package slab copies many small slices a process keeps for long into
// arrays they share. Go never moves an object, and a heap page stays in
// use while one object on it lives: records made one by one while a
// process was busy lie among the freed garbage of that work, each
// holding its page. Copied side by side into a few large arrays, they
// leave those pages free to return.
package slab

import "unsafe"

// Copy copies s into the front of *arr (a new array of at least size
// elements when *arr has too little room left) and returns the copy,
// whose capacity is its length: appending to it never writes into its
// neighbours'. An empty s (nil or not) is returned as it is.
func Copy[E any](arr *[]E, s []E, size int) []E {
	if len(s) == 0 {
		return s
	}
	if len(*arr) < len(s) {
		*arr = make([]E, max(size, len(s)))
	}
	c := (*arr)[:len(s):len(s)]
	copy(c, s)
	*arr = (*arr)[len(s):]
	return c
}

// One copies v into the front of *arr (a new array of size elements when
// *arr is used up) and returns a pointer to the copy.
func One[E any](arr *[]E, v E, size int) *E {
	if len(*arr) == 0 {
		*arr = make([]E, max(size, 1))
	}
	p := &(*arr)[0]
	*p = v
	*arr = (*arr)[1:]
	return p
}

// String copies s into the front of *arr as Copy does and returns the copy
// as a string. The bytes are never written again: Copy hands out each
// part of an array once.
func String(arr *[]byte, s string, size int) string {
	if s == "" {
		return s
	}
	c := Copy(arr, unsafe.Slice(unsafe.StringData(s), len(s)), size)
	return unsafe.String(&c[0], len(c))
}
