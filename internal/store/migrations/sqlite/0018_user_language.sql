-- The language a staff member sees the admin pages in (en, pl).
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
