package allocator

import (
	"errors"
	"strings"
	"testing"
)

func TestNew_DRF(t *testing.T) {
	a, err := New("drf", Config{Offer: func([]Allocation) {}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := a.(*DRF); !ok {
		t.Fatalf("New(drf) = %T, want *DRF", a)
	}
}

func TestNew_UnknownNameListsKnown(t *testing.T) {
	_, err := New("nope", Config{Offer: func([]Allocation) {}})
	if !errors.Is(err, ErrUnknownAllocator) {
		t.Fatalf("err = %v, want ErrUnknownAllocator", err)
	}
	if !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "drf") {
		t.Fatalf("error %q should name the request and the known allocators", err)
	}
}

func TestNew_RequiresOfferCallback(t *testing.T) {
	if _, err := New("drf", Config{}); !errors.Is(err, ErrNoOfferCallback) {
		t.Fatalf("err = %v, want ErrNoOfferCallback", err)
	}
}

func TestRegister_Duplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering drf twice did not panic")
		}
	}()
	Register("drf", func(Config) (Allocator, error) { return nil, nil })
}
