package web

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/custos/custos/internal/custos"
)

func TestForgetThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	path := fmt.Sprintf("/api/v1/contacts/%d/forget", w.contact)

	// A marketer may not forget; a bad body changes nothing.
	e.call(e.key(w, custos.RoleMarketer), "POST", path, map[string]any{"mode": "erase"}, 403, nil)
	res := e.call(w.token, "POST", path, map[string]any{"mode": "shred"}, 400, nil)
	if got := res.apiError(t); got.Field != "mode" {
		t.Fatalf("bad mode names %q", got.Field)
	}
	e.call(w.token, "POST", path, map[string]any{"mode": "erase", "request_id": "a@example.com"}, 400, nil)
	e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/%d", w.contact), nil, 200, nil)

	// The DPO role may, and the answer is the tombstone, again on a retry.
	dpo := e.key(w, custos.RoleDPO)
	var ts, again custos.Tombstone
	e.call(dpo, "POST", path, map[string]any{"mode": "erase", "request_id": "DSR-7"}, 200, &ts)
	if ts.ContactID != w.contact || ts.Mode != custos.ForgetErase || ts.RequestID != "DSR-7" {
		t.Fatalf("tombstone %+v", ts)
	}
	e.call(dpo, "POST", path, map[string]any{"mode": "erase"}, 200, &again)
	if !reflect.DeepEqual(again, ts) || ts.Removed["contacts"] != 1 {
		t.Fatalf("retry answered %+v, want %+v", again, ts)
	}
	e.call(w.token, "GET", fmt.Sprintf("/api/v1/contacts/%d", w.contact), nil, 404, nil)
}
