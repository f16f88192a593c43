package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/custos/custos/internal/custos"
	"github.com/custos/custos/internal/web"
)

// user creates a staff user, with the password read from standard input.
func (m *Main) user(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(m.Stderr, "Usage: custos user create --email E --role ROLE [--password-stdin] [--workspace NAME] [--must-change-password]")
		return flag.ErrHelp
	}
	fs := m.flagSet("user create")
	workspace := fs.String("workspace", custos.DefaultWorkspace, "workspace of the user")
	email := fs.String("email", "", "the user's e-mail address, which they sign in with")
	role := fs.String("role", "", "role of the user: admin, manager, marketer, sales, viewer, dpo, or the workspace's own")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input (one line)")
	mustChange := fs.Bool("must-change-password", false, "make the user choose a new password at first sign-in")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := custos.CheckRoleName("role", custos.Role(*role)); err != nil {
		return errors.New("--role must be a role: admin, manager, marketer, sales, viewer, dpo, or one made with POST /api/v1/roles")
	}
	// Without a password the user is invited: a link to set one is mailed,
	// pointing at the server's public address.
	baseURL := m.env("CUSTOS_BASE_URL", "")
	if !*fromStdin && baseURL == "" {
		return errors.New("without --password-stdin an invitation is mailed, which needs CUSTOS_BASE_URL, the server's public address")
	}
	pw := ""
	if *fromStdin {
		var err error
		if pw, err = readPassword(m.Stdin); err != nil {
			return err
		}
	}
	if _, err := m.open(ctx); err != nil {
		return err
	}
	actx, err := m.actAs(ctx, *workspace, custos.RoleAdmin)
	if err != nil {
		return err
	}
	u := &custos.User{Email: *email, Role: custos.Role(*role), MustChangePassword: *mustChange}
	if err := m.DB.CreateUser(actx, u, pw); err != nil {
		if e := custos.AsError(err); e != nil && e.Field == "role" {
			return fmt.Errorf("create user: --role: %s", e.Message)
		} else if e != nil && e.Field != "" {
			return fmt.Errorf("create user: %s %s", e.Field, e.Message)
		}
		return fmt.Errorf("create user: %s", custos.ErrorMessage(err))
	}
	if pw == "" {
		pr, err := m.DB.InviteUser(actx, u.ID)
		if err != nil {
			return fmt.Errorf("invite user: %s", custos.ErrorMessage(err))
		}
		// Queued: serve's mail worker sends it, retrying while the mail
		// server is unreachable.
		if err := m.DB.QueueStaffMail(actx, web.InvitationMessage(pr, baseURL), pr.ExpiresAt); err != nil {
			return fmt.Errorf("created user %d, but the invitation was not queued (%s); try again with POST /api/v1/users/%d/invitation",
				u.ID, strings.ReplaceAll(err.Error(), pr.Email, "<user>"), u.ID)
		}
		fmt.Fprintf(m.Stdout, "Created user %d (%s) in workspace %s and queued an invitation (valid 72 hours), which serve mails.\n", u.ID, u.Role, *workspace)
		return nil
	}
	fmt.Fprintf(m.Stdout, "Created user %d (%s) in workspace %s.\n", u.ID, u.Role, *workspace)
	return nil
}

// readPassword reads one line, without its line ending; spaces are part
// of the password.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no standard input to read the password from")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}
