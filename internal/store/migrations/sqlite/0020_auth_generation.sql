-- auth_generation takes a new value with every change of what
-- authenticates an API key or admits its requests (the keys, the roles and
-- their permissions, a workspace's security settings), set by triggers in
-- the transaction of the change, whichever process makes it. A server
-- that keeps verified keys in memory trusts them only while the value it
-- read them at is still the current one. (A new random value, not a
-- count, so that a restored older database cannot show a value already
-- seen for another state.) Recording a key's last use does not count.
CREATE TABLE auth_generation (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	gen INTEGER NOT NULL
);
INSERT INTO auth_generation (id, gen) VALUES (1, random());
CREATE TRIGGER api_keys_auth_insert AFTER INSERT ON api_keys
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER api_keys_auth_update AFTER UPDATE OF id, workspace_id, name, role, prefix, token_hash, created_at, revoked_at ON api_keys
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER roles_auth_insert AFTER INSERT ON roles
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER roles_auth_update AFTER UPDATE ON roles
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER roles_auth_delete AFTER DELETE ON roles
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER workspace_security_auth_insert AFTER INSERT ON workspace_security
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER workspace_security_auth_update AFTER UPDATE ON workspace_security
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER workspace_security_auth_delete AFTER DELETE ON workspace_security
	BEGIN UPDATE auth_generation SET gen = random(); END;
