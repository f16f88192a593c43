-- auth_generation also takes a new value with every change of the field
-- definitions, whichever process makes it: a server keeps them in memory,
-- as it does verified keys, and reads them anew after a change.
CREATE TRIGGER fields_auth AFTER INSERT OR UPDATE OR DELETE ON fields
	FOR EACH STATEMENT EXECUTE FUNCTION custos_auth_changed();
