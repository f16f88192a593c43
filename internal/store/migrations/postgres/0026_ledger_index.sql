-- One index on the ledger instead of two: every query of a contact's events
-- (its history, the decision at a past time, the timeline, erasure, export)
-- finds them through consent_events_time, (workspace_id, contact_id,
-- created_at, id); the few events of a contact that a purpose or the id
-- order needs are filtered and sorted from there. Each bulk-created contact
-- wrote one index entry more for nothing.
DROP INDEX consent_events_contact;
