package custos

import (
	"context"
	"net/http"
	"sync/atomic"
)

// Request is the HTTP request an actor acts through, as the audit log
// records it: never its body or query, which may hold personal data.
type Request struct {
	Method string // GET, POST, …
	Route  string // the route's pattern, such as /api/v1/contacts/{id}
	IP     string // the client's address
	// ContactID is the contact the route names in its path, if any.
	ContactID int64
	// audited is set once a store transaction of the request has written
	// an entry about it.
	audited atomic.Bool
}

// Changes reports whether the request may change state: every method but
// GET and HEAD.
func (r *Request) Changes() bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead
}

// MarkAudited records that an entry about the request was written.
func (r *Request) MarkAudited() { r.audited.Store(true) }

// Audited reports whether an entry about the request was written.
func (r *Request) Audited() bool { return r.audited.Load() }

type requestKey struct{}

// WithRequest returns a context that carries r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the request the context carries, or nil.
func RequestFrom(ctx context.Context) *Request {
	r, _ := ctx.Value(requestKey{}).(*Request)
	return r
}
