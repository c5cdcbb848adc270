package auth

import (
	"context"
	"testing"
)

func TestFromContext_AnonymousWithoutIdentity(t *testing.T) {
	if id := FromContext(context.Background()); id.Authenticated() {
		t.Fatalf("identity %+v from an empty context is authenticated", id)
	}
	id := Identity{Principal: "ops"}
	got := FromContext(NewContext(context.Background(), id))
	if got != id || !got.Authenticated() {
		t.Fatalf("got %+v, want %+v authenticated", got, id)
	}
	if !(Identity{Role: "agent"}).Authenticated() {
		t.Fatal("a certificate role alone is not authenticated")
	}
}
