-- Staff accounts: users, their sessions, login history, the sign-in
-- throttle, recovery codes and each workspace's sign-in rules. Personal
-- values (address, TOTP secret, client addresses and browsers) are sealed
-- under a key derived for the user; the address has a blind index for
-- sign-in. Tokens and recovery codes are stored only as hashes.
CREATE TABLE users (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
	email_index      BLOB NOT NULL,
	email_sealed     BLOB NOT NULL,
	role             TEXT NOT NULL,
	status           TEXT NOT NULL,
	password_hash    TEXT NOT NULL,
	password_version INTEGER NOT NULL,
	password_changed_at INTEGER NOT NULL,
	must_change      INTEGER NOT NULL,
	totp_sealed      BLOB,
	totp_pending     BLOB,
	totp_last_step   INTEGER NOT NULL DEFAULT 0,
	email_2fa        INTEGER NOT NULL DEFAULT 0,
	allowed_ips      TEXT NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	UNIQUE (workspace_id, email_index)
);
CREATE INDEX users_workspace ON users (workspace_id, id);

CREATE TABLE sessions (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	user_id      INTEGER NOT NULL REFERENCES users (id),
	token_hash   BLOB NOT NULL UNIQUE,
	pending      INTEGER NOT NULL,
	two_factor   TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	ip_sealed    BLOB NOT NULL,
	ua_sealed    BLOB NOT NULL
);
CREATE INDEX sessions_user ON sessions (workspace_id, user_id, id);

CREATE TABLE login_history (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	user_id      INTEGER NOT NULL REFERENCES users (id),
	at           INTEGER NOT NULL,
	ip_sealed    BLOB NOT NULL,
	ua_sealed    BLOB NOT NULL,
	result       TEXT NOT NULL,
	two_factor   TEXT NOT NULL
);
CREATE INDEX login_history_user ON login_history (workspace_id, user_id, id);
CREATE INDEX login_history_workspace ON login_history (workspace_id, id);

-- Failed sign-ins per account and per client address, each named by a
-- keyed hash. workspace_id 0 holds attempts on unknown workspaces.
CREATE TABLE login_throttle (
	workspace_id INTEGER NOT NULL,
	subject      BLOB NOT NULL,
	window_start INTEGER NOT NULL,
	failures     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, subject)
);
CREATE INDEX login_throttle_window ON login_throttle (window_start);

CREATE TABLE recovery_codes (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	user_id      INTEGER NOT NULL REFERENCES users (id),
	code_hash    BLOB NOT NULL,
	used_at      INTEGER,
	PRIMARY KEY (workspace_id, user_id, code_hash)
);

CREATE TABLE workspace_security (
	workspace_id         INTEGER PRIMARY KEY REFERENCES workspaces (id),
	idle_timeout_minutes INTEGER NOT NULL,
	require_2fa          TEXT NOT NULL,
	password_max_age_days INTEGER NOT NULL DEFAULT 0,
	allowed_ips          TEXT NOT NULL,
	updated_at           INTEGER NOT NULL
);

-- Password reset links: single use, ten minutes, bound to the password
-- version they were made for. The token is stored as its SHA-256.
CREATE TABLE password_resets (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	workspace_id     INTEGER NOT NULL REFERENCES workspaces (id),
	user_id          INTEGER NOT NULL REFERENCES users (id),
	token_hash       BLOB NOT NULL UNIQUE,
	password_version INTEGER NOT NULL,
	created_at       INTEGER NOT NULL,
	expires_at       INTEGER NOT NULL,
	used_at          INTEGER
);
CREATE INDEX password_resets_user ON password_resets (workspace_id, user_id);

-- The code mailed for a pending sign-in of a user with e-mail codes as
-- second factor: ten minutes, single use, five tries. Stored as a keyed
-- hash.
CREATE TABLE email_codes (
	workspace_id INTEGER NOT NULL REFERENCES workspaces (id),
	session_id   INTEGER NOT NULL,
	user_id      INTEGER NOT NULL REFERENCES users (id),
	code_hash    BLOB NOT NULL,
	expires_at   INTEGER NOT NULL,
	tries        INTEGER NOT NULL,
	PRIMARY KEY (workspace_id, session_id)
);
