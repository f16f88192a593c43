package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

const listColumns = `l.id, l.name, l.description, l.group_id, l.created_at, l.updated_at,
	(SELECT COUNT(*) FROM list_members m WHERE m.workspace_id = l.workspace_id AND m.list_id = l.id)`

func scanList(row interface{ Scan(...any) error }) (*custos.List, error) {
	l := &custos.List{}
	var group sql.NullInt64
	var created, updated int64
	if err := row.Scan(&l.ID, &l.Name, &l.Description, &group, &created, &updated, &l.Members); err != nil {
		return nil, err
	}
	if group.Valid {
		l.GroupID = &group.Int64
	}
	l.CreatedAt, l.UpdatedAt = fromMicros(created), fromMicros(updated)
	return l, nil
}

// checkGroup fails with EINVALID when the group is not the workspace's.
func (db *DB) checkGroup(ctx context.Context, q querier, ws int64, group *int64) error {
	if group == nil {
		return nil
	}
	if _, err := db.findListGroup(ctx, q, ws, *group); custos.ErrorCode(err) == custos.ENOTFOUND {
		return custos.Invalid("group_id", "list group %d does not exist", *group)
	} else if err != nil {
		return err
	}
	return nil
}

// CreateList creates a list.
func (db *DB) CreateList(ctx context.Context, l *custos.List) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.checkGroup(ctx, tx, a.WorkspaceID, l.GroupID); err != nil {
			return err
		}
		l.CreatedAt = db.Now()
		l.UpdatedAt, l.Members = l.CreatedAt, 0
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO lists (workspace_id, group_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			a.WorkspaceID, l.GroupID, l.Name, l.Description, micros(l.CreatedAt), micros(l.UpdatedAt)).Scan(&l.ID)
	})
}

// FindList returns the list with its member count.
func (db *DB) FindList(ctx context.Context, id int64) (*custos.List, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findList(ctx, db.read, a.WorkspaceID, id)
}

func (db *DB) findList(ctx context.Context, q querier, ws, id int64) (*custos.List, error) {
	l, err := scanList(q.QueryRowContext(ctx, db.q(`SELECT `+listColumns+` FROM lists l WHERE l.workspace_id = ? AND l.id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("list")
	} else if err != nil {
		return nil, fmt.Errorf("store: find list: %w", err)
	}
	return l, nil
}

// FindLists returns every list.
func (db *DB) FindLists(ctx context.Context) ([]*custos.List, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT `+listColumns+` FROM lists l WHERE l.workspace_id = ? ORDER BY l.id`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find lists: %w", err)
	}
	defer rows.Close()
	out := []*custos.List{}
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// UpdateList changes a list.
func (db *DB) UpdateList(ctx context.Context, id int64, u custos.ListUpdate) (*custos.List, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var l *custos.List
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if l, err = db.findList(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		if err := u.Apply(l); err != nil {
			return err
		}
		if err := db.checkGroup(ctx, tx, a.WorkspaceID, l.GroupID); err != nil {
			return err
		}
		l.UpdatedAt = db.Now()
		_, err := tx.ExecContext(ctx, db.q(`UPDATE lists SET name = ?, description = ?, group_id = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			l.Name, l.Description, l.GroupID, micros(l.UpdatedAt), a.WorkspaceID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteList removes the list and its memberships.
func (db *DB) DeleteList(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findList(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		for _, table := range []string{"list_members", "list_leaves"} {
			if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM `+table+` WHERE workspace_id = ? AND list_id = ?`), a.WorkspaceID, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM lists WHERE workspace_id = ? AND id = ?`), a.WorkspaceID, id)
		return err
	})
}

func scanListGroup(row interface{ Scan(...any) error }) (*custos.ListGroup, error) {
	g := &custos.ListGroup{}
	var created, updated int64
	if err := row.Scan(&g.ID, &g.Name, &g.Description, &created, &updated); err != nil {
		return nil, err
	}
	g.CreatedAt, g.UpdatedAt = fromMicros(created), fromMicros(updated)
	return g, nil
}

// CreateListGroup creates a list group.
func (db *DB) CreateListGroup(ctx context.Context, g *custos.ListGroup) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if err := g.Validate(); err != nil {
		return err
	}
	g.CreatedAt = db.Now()
	g.UpdatedAt = g.CreatedAt
	return db.tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO list_groups (workspace_id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			a.WorkspaceID, g.Name, g.Description, micros(g.CreatedAt), micros(g.UpdatedAt)).Scan(&g.ID)
	})
}

// FindListGroup returns the group.
func (db *DB) FindListGroup(ctx context.Context, id int64) (*custos.ListGroup, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	return db.findListGroup(ctx, db.read, a.WorkspaceID, id)
}

func (db *DB) findListGroup(ctx context.Context, q querier, ws, id int64) (*custos.ListGroup, error) {
	g, err := scanListGroup(q.QueryRowContext(ctx, db.q(`SELECT id, name, description, created_at, updated_at FROM list_groups WHERE workspace_id = ? AND id = ?`), ws, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, custos.NotFound("list group")
	} else if err != nil {
		return nil, fmt.Errorf("store: find list group: %w", err)
	}
	return g, nil
}

// FindListGroups returns every group.
func (db *DB) FindListGroups(ctx context.Context) ([]*custos.ListGroup, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT id, name, description, created_at, updated_at FROM list_groups WHERE workspace_id = ? ORDER BY id`), a.WorkspaceID)
	if err != nil {
		return nil, fmt.Errorf("store: find list groups: %w", err)
	}
	defer rows.Close()
	out := []*custos.ListGroup{}
	for rows.Next() {
		g, err := scanListGroup(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// UpdateListGroup changes a group.
func (db *DB) UpdateListGroup(ctx context.Context, id int64, u custos.ListGroupUpdate) (*custos.ListGroup, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var g *custos.ListGroup
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if g, err = db.findListGroup(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		if err := u.Apply(g); err != nil {
			return err
		}
		g.UpdatedAt = db.Now()
		_, err := tx.ExecContext(ctx, db.q(`UPDATE list_groups SET name = ?, description = ?, updated_at = ? WHERE workspace_id = ? AND id = ?`),
			g.Name, g.Description, micros(g.UpdatedAt), a.WorkspaceID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteListGroup removes the group; its lists stay, ungrouped.
func (db *DB) DeleteListGroup(ctx context.Context, id int64) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findListGroup(ctx, tx, a.WorkspaceID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE lists SET group_id = NULL WHERE workspace_id = ? AND group_id = ?`), a.WorkspaceID, id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, db.q(`DELETE FROM list_groups WHERE workspace_id = ? AND id = ?`), a.WorkspaceID, id)
		return err
	})
}

// AddMembers subscribes contacts to a list; one who had left it is back on
// it, as the caller named them.
func (db *DB) AddMembers(ctx context.Context, listID int64, contactIDs []int64) (int64, error) {
	n, _, err := db.changeMembers(ctx, listID, true, contactIDs, nil)
	return n, err
}

// RemoveMembers unsubscribes contacts from a list, and records that they
// left it.
func (db *DB) RemoveMembers(ctx context.Context, listID int64, contactIDs []int64) (int64, error) {
	n, _, err := db.changeMembers(ctx, listID, false, contactIDs, nil)
	return n, err
}

// AddMembersByFilter subscribes every contact the filter matches but the
// restricted ones and those who left the list, which it counts.
func (db *DB) AddMembersByFilter(ctx context.Context, listID int64, f custos.ContactFilter) (added, skipped int64, err error) {
	return db.changeMembers(ctx, listID, true, nil, &f)
}

// RemoveMembersByFilter unsubscribes every contact the filter matches.
func (db *DB) RemoveMembersByFilter(ctx context.Context, listID int64, f custos.ContactFilter) (int64, error) {
	n, _, err := db.changeMembers(ctx, listID, false, nil, &f)
	return n, err
}

// changeMembers adds or removes the contacts named by ids, or matching f,
// in one transaction, and returns how many memberships changed.
// Named contacts to add must all be live contacts of the workspace whose
// processing is not restricted, and are back on the list even if they left
// it; contacts matching f to add that are restricted or left the list are
// skipped, and counted. A contact removed is recorded as having left.
func (db *DB) changeMembers(ctx context.Context, listID int64, add bool, ids []int64, f *custos.ContactFilter) (changed, skipped int64, err error) {
	a, err := actor(ctx)
	if err != nil {
		return 0, 0, err
	}
	ws := a.WorkspaceID
	if f != nil {
		if ids, err = db.contactIDs(ctx, ws, *f); err != nil {
			return 0, 0, err
		}
	}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.findList(ctx, tx, ws, listID); err != nil {
			return err
		}
		now := micros(db.Now())
		for start := 0; start < len(ids); start += 500 {
			batch := ids[start:min(start+500, len(ids))]
			if add {
				live, restricted, err := db.liveIDs(ctx, tx, ws, batch, true)
				if err != nil {
					return err
				}
				if want := len(uniq(batch)); f == nil && len(live)+len(restricted) != want {
					return custos.Invalid("contact_ids", "%d of the contacts do not exist", want-len(live)-len(restricted))
				} else if f == nil && len(restricted) > 0 {
					return custos.Restricted("contact_ids", "%s cannot be added to a list until the restriction is lifted", contactsNamed(restricted))
				}
				skipped += int64(len(restricted))
				if f != nil {
					var left []int64
					if live, left, err = db.notLeft(ctx, tx, ws, listID, live); err != nil {
						return err
					}
					skipped += int64(len(left))
				} else if err := db.rejoin(ctx, tx, ws, listID, live); err != nil {
					return err
				}
				rows := make([][]any, len(live))
				for i, id := range live {
					rows[i] = []any{id}
				}
				n, err := db.insertShared(ctx, tx, "list_members", memberCols, []any{ws, listID, now}, rows, memberIgnore)
				if err != nil {
					return err
				}
				changed += n
				continue
			}
			args := []any{ws, listID}
			for _, id := range batch {
				args = append(args, id)
			}
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO list_leaves (workspace_id, list_id, contact_id, left_at, left_by)
				SELECT workspace_id, list_id, contact_id, ?, ? FROM list_members WHERE workspace_id = ? AND list_id = ? AND contact_id IN (`+placeholders(len(batch))+`)
				ON CONFLICT (workspace_id, list_id, contact_id) DO UPDATE SET left_at = excluded.left_at, left_by = excluded.left_by`),
				append([]any{now, a.String()}, args...)...); err != nil {
				return err
			}
			res, err := tx.ExecContext(ctx, db.q(`DELETE FROM list_members WHERE workspace_id = ? AND list_id = ? AND contact_id IN (`+placeholders(len(batch))+`)`), args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			changed += n
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	db.grew(int(changed), "list_members")
	return changed, skipped, nil
}

// notLeft splits ids into the contacts that never left the list and those
// who did.
func (db *DB) notLeft(ctx context.Context, tx *sql.Tx, ws, listID int64, ids []int64) (stayed, left []int64, err error) {
	leftAt, err := db.listLeaves(ctx, tx, ws, listID, ids)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range ids {
		if _, ok := leftAt[id]; ok {
			left = append(left, id)
		} else {
			stayed = append(stayed, id)
		}
	}
	return stayed, left, nil
}

// listLeaves answers when each of the contacts that left the list left it.
func (db *DB) listLeaves(ctx context.Context, tx *sql.Tx, ws, listID int64, ids []int64) (map[int64]time.Time, error) {
	leftAt := map[int64]time.Time{}
	if len(ids) == 0 {
		return leftAt, nil
	}
	args := []any{ws, listID}
	for _, id := range ids {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, db.q(`SELECT contact_id, left_at FROM list_leaves WHERE workspace_id = ? AND list_id = ? AND contact_id IN (`+placeholders(len(ids))+`)`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		leftAt[id] = fromMicros(at)
	}
	return leftAt, rows.Err()
}

// contactListLeaves answers the lists the contact left, newest first.
func (db *DB) contactListLeaves(ctx context.Context, ws, contactID int64) ([]*custos.ListLeave, error) {
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT v.list_id, l.name, v.left_at, v.left_by FROM list_leaves v
		JOIN lists l ON l.workspace_id = v.workspace_id AND l.id = v.list_id
		WHERE v.workspace_id = ? AND v.contact_id = ? ORDER BY v.left_at DESC, v.list_id`), ws, contactID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*custos.ListLeave{}
	for rows.Next() {
		v := &custos.ListLeave{}
		var at int64
		if err := rows.Scan(&v.ListID, &v.ListName, &at, &v.LeftBy); err != nil {
			return nil, err
		}
		v.LeftAt = fromMicros(at)
		out = append(out, v)
	}
	return out, rows.Err()
}

// rejoin forgets that the contacts left the list: they are joining it again.
func (db *DB) rejoin(ctx context.Context, tx *sql.Tx, ws, listID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{ws, listID}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := tx.ExecContext(ctx, db.q(`DELETE FROM list_leaves WHERE workspace_id = ? AND list_id = ? AND contact_id IN (`+placeholders(len(ids))+`)`), args...)
	return err
}

// contactsNamed names contacts by id in a message: "contact 7", or
// "contacts 7, 9 and 12", at most ten of them.
func contactsNamed(ids []int64) string {
	if len(ids) == 1 {
		return fmt.Sprintf("contact %d", ids[0])
	}
	s := make([]string, 0, min(len(ids), 10))
	for _, id := range ids[:min(len(ids), 10)] {
		s = append(s, strconv.FormatInt(id, 10))
	}
	if len(ids) > 10 {
		return fmt.Sprintf("contacts %s and %d more", strings.Join(s, ", "), len(ids)-10)
	}
	return fmt.Sprintf("contacts %s and %s", strings.Join(s[:len(s)-1], ", "), s[len(s)-1])
}

// uniq returns the distinct ids.
func uniq(ids []int64) map[int64]bool {
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// ContactLists returns the ids of the contact's lists.
func (db *DB) ContactLists(ctx context.Context, contactID int64) ([]int64, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := db.findContactRow(ctx, db.read, a.WorkspaceID, contactID); err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, db.q(`SELECT list_id FROM list_members WHERE workspace_id = ? AND contact_id = ? ORDER BY list_id`), a.WorkspaceID, contactID)
	if err != nil {
		return nil, fmt.Errorf("store: contact lists: %w", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
