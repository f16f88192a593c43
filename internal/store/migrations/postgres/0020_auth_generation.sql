-- auth_generation takes a new value with every change of what
-- authenticates an API key or admits its requests (the keys, the roles and
-- their permissions, a workspace's security settings), set by triggers in
-- the transaction of the change, whichever process makes it. A server
-- that keeps verified keys in memory trusts them only while the value it
-- read them at is still the current one. (A new random value, not a
-- count, so that a restored older database cannot show a value already
-- seen for another state.) Recording a key's last use does not count.
-- The row is made by the first change, and left out of backups: a
-- restore's own rows change it.
CREATE TABLE auth_generation (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	gen BIGINT NOT NULL
);
CREATE FUNCTION custos_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO auth_generation (id, gen) VALUES (1, (random() * 9007199254740991)::bigint)
		ON CONFLICT (id) DO UPDATE SET gen = excluded.gen;
	RETURN NULL;
END $$;
CREATE TRIGGER api_keys_auth_insert_delete AFTER INSERT OR DELETE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION custos_auth_changed();
CREATE TRIGGER api_keys_auth_update AFTER UPDATE OF id, workspace_id, name, role, prefix, token_hash, created_at, revoked_at ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION custos_auth_changed();
CREATE TRIGGER roles_auth AFTER INSERT OR UPDATE OR DELETE ON roles
	FOR EACH STATEMENT EXECUTE FUNCTION custos_auth_changed();
CREATE TRIGGER workspace_security_auth AFTER INSERT OR UPDATE OR DELETE ON workspace_security
	FOR EACH STATEMENT EXECUTE FUNCTION custos_auth_changed();
