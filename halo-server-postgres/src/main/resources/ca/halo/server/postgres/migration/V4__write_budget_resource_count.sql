-- What an app wrote after launch, per launch context: request bytes (creates and updates) and
-- resources created. Charged by one conditional UPDATE, so the budget holds across nodes.
ALTER TABLE halo_launch_context
  ADD COLUMN written_bytes     bigint NOT NULL DEFAULT 0,
  ADD COLUMN written_resources bigint NOT NULL DEFAULT 0;

-- How many resources fhir_resource holds, so that PostgresFhirRepository refuses writes past its
-- capacity. Kept in 16 stripes (a writer adds to the stripe of its connection), so concurrent
-- writers do not queue on one counter row: a check reads the committed sum plus its own rows,
-- and may pass the capacity by what other transactions write at the same moment.
CREATE TABLE fhir_resource_count (
  stripe smallint PRIMARY KEY,
  n      bigint   NOT NULL
);
INSERT INTO fhir_resource_count (stripe, n) SELECT 0, count(*) FROM fhir_resource;

CREATE FUNCTION fhir_resource_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO fhir_resource_count AS c (stripe, n)
    SELECT pg_backend_pid() % 16, count(*) FROM fhir_new_rows
  ON CONFLICT (stripe) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION fhir_resource_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO fhir_resource_count AS c (stripe, n)
    SELECT pg_backend_pid() % 16, -count(*) FROM fhir_old_rows
  ON CONFLICT (stripe) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE TRIGGER fhir_resource_count_insert AFTER INSERT ON fhir_resource
  REFERENCING NEW TABLE AS fhir_new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION fhir_resource_inserted();
CREATE TRIGGER fhir_resource_count_delete AFTER DELETE ON fhir_resource
  REFERENCING OLD TABLE AS fhir_old_rows FOR EACH STATEMENT
  EXECUTE FUNCTION fhir_resource_deleted();

-- Each owner's share of launch contexts (client | user): contexts and bytes held until deleted.
-- Changed by one conditional upsert in the create's transaction (and a decrement in the
-- delete's), so concurrent creates of one owner on any node never pass the share together.
CREATE TABLE halo_context_owner (
  owner     text   PRIMARY KEY,
  contexts  bigint NOT NULL,
  bytes     bigint NOT NULL
);
INSERT INTO halo_context_owner (owner, contexts, bytes)
  SELECT owner_client_id || '|' || coalesce(owner_subject, ''), count(*), sum(size_bytes)
    FROM halo_launch_context GROUP BY 1;
