// Package auth carries who made a request from the HTTP layer, which
// establishes it, to the handlers that decide what the caller may do.
package auth

import "context"

// Identity is the caller of one request, as authentication established it.
// The zero Identity is an anonymous caller.
type Identity struct {
	// Principal names the caller: the principal of an HTTP Basic credential
	// or a bearer token, or the common name of a client certificate.
	Principal string
	// Role is the role of the caller's client certificate ("server",
	// "agent", "client"), or RoleAgent for an agent that proved itself
	// with the cluster's join token; empty without either.
	Role string
}

// Authenticated reports whether the caller proved who it is.
func (i Identity) Authenticated() bool { return i.Principal != "" || i.Role != "" }

type ctxKey struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity ctx carries, the anonymous one if none.
func FromContext(ctx context.Context) Identity {
	id, _ := ctx.Value(ctxKey{}).(Identity)
	return id
}
