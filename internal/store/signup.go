package store

import (
	"context"

	"github.com/custos/custos/internal/vault"
)

// signupKeys returns the unwrapped data keys of the sign-ups. A sign-up
// whose key is gone (shredded) is missing from the map.
func (db *DB) signupKeys(ctx context.Context, ws int64, ids []int64) (map[int64]*vault.SignupKey, error) {
	return readKeys(ctx, db, "signup_keys", "signup_id", ws, ids, func(id int64, wrapped []byte) (*vault.SignupKey, error) {
		return db.vault.UnwrapSignupKey(ws, id, wrapped)
	})
}
