package slab

import (
	"testing"
	"unsafe"
)

func TestCopy_SideBySideWithNoRoomToGrow(t *testing.T) {
	var arr []int
	a := Copy(&arr, []int{1, 2}, 5)
	b := Copy(&arr, []int{3}, 5)
	if len(a) != 2 || cap(a) != 2 || a[0] != 1 || a[1] != 2 || len(b) != 1 || cap(b) != 1 || b[0] != 3 {
		t.Fatalf("copies %v (cap %d), %v (cap %d)", a, cap(a), b, cap(b))
	}
	if uintptr(unsafe.Pointer(&b[0])) != uintptr(unsafe.Pointer(&a[0]))+2*unsafe.Sizeof(0) {
		t.Fatal("two copies do not lie side by side")
	}
	a = append(a, 9)
	if b[0] != 3 {
		t.Fatal("appending to a copy wrote into its neighbour")
	}
	// Too little room left: a new array, at least as long as the copy.
	c := Copy(&arr, []int{4, 5, 6, 7, 8, 9}, 5)
	if len(c) != 6 || c[5] != 9 || len(arr) != 0 {
		t.Fatalf("a copy longer than the arrays: %v, %d left", c, len(arr))
	}
	if got := Copy(&arr, nil, 5); got != nil {
		t.Fatalf("copying nothing gave %v", got)
	}
	if got := Copy(&arr, []int{}, 5); got == nil || len(arr) != 0 {
		t.Fatal("an empty slice did not come back as it was")
	}
}

func TestOne_SideBySide(t *testing.T) {
	var arr []int
	a, b := One(&arr, 1, 2), One(&arr, 2, 2)
	c := One(&arr, 3, 2) // a new array
	if *a != 1 || *b != 2 || *c != 3 || uintptr(unsafe.Pointer(b)) != uintptr(unsafe.Pointer(a))+unsafe.Sizeof(0) {
		t.Fatalf("%d %d %d, or the first two apart", *a, *b, *c)
	}
}

func TestString_SideBySideAndEqual(t *testing.T) {
	var arr []byte
	src := []string{"task-1", "", "task-22"}
	var got []string
	for _, s := range src {
		got = append(got, String(&arr, s, 16))
	}
	for i, s := range src {
		if got[i] != s {
			t.Fatalf("copy %d is %q, want %q", i, got[i], s)
		}
	}
	if unsafe.StringData(got[0]) == unsafe.StringData(src[0]) {
		t.Fatal("a string was not copied")
	}
	if uintptr(unsafe.Pointer(unsafe.StringData(got[2]))) != uintptr(unsafe.Pointer(unsafe.StringData(got[0])))+6 {
		t.Fatal("two copies do not lie side by side")
	}
}
