-- auth_generation also takes a new value with every change of the field
-- definitions, whichever process makes it: a server keeps them in memory,
-- as it does verified keys, and reads them anew after a change.
CREATE TRIGGER fields_auth_insert AFTER INSERT ON fields
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER fields_auth_update AFTER UPDATE ON fields
	BEGIN UPDATE auth_generation SET gen = random(); END;
CREATE TRIGGER fields_auth_delete AFTER DELETE ON fields
	BEGIN UPDATE auth_generation SET gen = random(); END;
