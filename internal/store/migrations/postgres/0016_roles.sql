-- A workspace's own roles, made of the known permissions (a JSON array).
-- Users and API keys name a role in their role column, built-in or one of
-- these; authentication reads the permissions with the credential.
CREATE TABLE roles (
	workspace_id BIGINT NOT NULL REFERENCES workspaces (id),
	name         TEXT NOT NULL,
	permissions  TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (workspace_id, name)
);
CREATE INDEX users_role ON users (workspace_id, role);
CREATE INDEX api_keys_role ON api_keys (workspace_id, role);
