package procstat

import (
	"os"
	"testing"
)

func TestFields_CountsFromTheLastParenthesis(t *testing.T) {
	f, err := Fields([]byte("4242 (mesh (x) y) S 1 4242 4242 0 -1\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"S", "1", "4242", "4242", "0", "-1"}
	if len(f) != len(want) {
		t.Fatalf("%d fields %q, want %q", len(f), f, want)
	}
	for i := range want {
		if string(f[i]) != want[i] {
			t.Fatalf("field %d = %q, want %q", i+3, f[i], want[i])
		}
	}
	if _, err := Fields([]byte("4242 mesh S 1")); err == nil {
		t.Fatal("a line without a command name was accepted")
	}
	if f, err := Fields([]byte("1 (x)")); err != nil || len(f) != 0 {
		t.Fatalf("a line that ends with the name: %q, %v; want no field and no error", f, err)
	}
}

func TestRead_ThisProcess(t *testing.T) {
	f, err := Read(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if len(f) < 20 || len(f[0]) != 1 {
		t.Fatalf("fields of this process's stat: %q", f)
	}
}

func FuzzFields(f *testing.F) {
	f.Add([]byte("4242 (mesh) S 1 4242 4242 0 -1 4194560"))
	f.Add([]byte("1 ()) R 0"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := Fields(b)
		if err == nil {
			for _, x := range fields {
				if len(x) == 0 {
					t.Fatalf("an empty field in %q", b)
				}
			}
		}
	})
}
