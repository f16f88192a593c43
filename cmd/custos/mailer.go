package main

import (
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/custos/custos/internal/custos"
)

// outboxMailer writes each message as an .eml file into dir, named by its
// Ref. It stands in until internal/mail delivers over SMTP.
type outboxMailer struct{ dir string }

// Send writes m into the outbox.
func (o outboxMailer) Send(_ context.Context, m *custos.Message) error {
	if err := os.MkdirAll(o.dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	now := time.Now()
	head := fmt.Sprintf("To: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
		m.To, mime.QEncoding.Encode("utf-8", m.Subject), now.Format(time.RFC1123Z))
	body := strings.ReplaceAll(strings.ReplaceAll(m.Text, "\r\n", "\n"), "\n", "\r\n")
	name := filepath.Join(o.dir, fmt.Sprintf("%s-%d.eml", m.Ref, now.UnixNano()))
	if err := os.WriteFile(name, []byte(head+body), 0o600); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
