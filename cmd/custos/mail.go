package main

import (
	"path/filepath"

	"github.com/custos/custos/internal/mail"
)

// OutboxDir is where mail goes, one .eml file per message, when no SMTP
// server is configured.
const OutboxDir = "outbox"

// mailer returns the sender of the configuration: SMTP when
// CUSTOS_SMTP_URL is set, else the outbox in the data directory.
func (m *Main) mailer() (*mail.Sender, error) {
	cfg := mail.Config{
		URL:       m.secret("CUSTOS_SMTP_URL"),
		From:      m.env("CUSTOS_MAIL_FROM", "Custos <custos@localhost>"),
		OutboxDir: filepath.Join(m.Config.DataDir, OutboxDir),
	}
	if domain := m.Getenv("CUSTOS_DKIM_DOMAIN"); domain != "" {
		cfg.DKIM = &mail.DKIMConfig{Domain: domain, Selector: m.Getenv("CUSTOS_DKIM_SELECTOR"), KeyFile: m.Getenv("CUSTOS_DKIM_KEY_FILE")}
	}
	return mail.New(cfg)
}
