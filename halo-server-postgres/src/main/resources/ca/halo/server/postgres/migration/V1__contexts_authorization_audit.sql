-- HALO SoFA state shared by every node: launch contexts, the authorization server's state, audit.
-- Times are timestamptz written from the application's clock (never now()), so expiry is judged
-- by the same clock on every node and in tests. Bearer secrets that are only ever looked up
-- (authorization codes, sign-in ids, SSO session ids, typed user names) are stored as SHA-256
-- hashes (base64url), never in clear.

-- ----------------------------------------------------------------------------- row counts
-- How many rows each bounded table holds, in total (owner '') and per owner (a user, client or
-- address: the table's "owners" column). Kept by the statement triggers below in the same
-- transaction as the write, so a store checks its bounds against exact counts: the counter row
-- is locked from the write to the commit, which serialises the writers of one table.
-- Counts include expired rows not yet deleted; a store that finds a bound reached deletes the
-- expired rows in question and tries once more. TRUNCATE bypasses the counts: do not.
CREATE TABLE halo_row_count (
  tbl   text   NOT NULL,
  owner text   NOT NULL,
  n     bigint NOT NULL,
  PRIMARY KEY (tbl, owner)
);

-- Counter rows are locked in (tbl, owner) order ('' first), so writers never deadlock.
CREATE FUNCTION halo_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO halo_row_count AS c (tbl, owner, n)
    SELECT TG_TABLE_NAME, o, count(*)
      FROM halo_new_rows r, unnest(r.owners || ''::text) AS o
     GROUP BY o ORDER BY o
  ON CONFLICT (tbl, owner) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

CREATE FUNCTION halo_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO halo_row_count AS c (tbl, owner, n)
    SELECT TG_TABLE_NAME, o, -count(*)
      FROM halo_old_rows r, unnest(r.owners || ''::text) AS o
     GROUP BY o ORDER BY o
  ON CONFLICT (tbl, owner) DO UPDATE SET n = c.n + excluded.n;
  RETURN NULL;
END $$;

-- ----------------------------------------------------------------------------- launch contexts
CREATE TABLE halo_launch_context (
  launch_id        text        PRIMARY KEY,
  session_id       text        NOT NULL UNIQUE,
  owner_client_id  text        NOT NULL,
  owner_subject    text,
  app_id           text,
  context          jsonb       NOT NULL,            -- ca.halo.core.LaunchContext#toJson()
  resources        text[]      NOT NULL,            -- what $set-context created
  size_bytes       bigint      NOT NULL,
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  owners           text[]      NOT NULL DEFAULT '{}'
);
CREATE INDEX halo_launch_context_expiry ON halo_launch_context (expires_at);
CREATE INDEX halo_launch_context_owner ON halo_launch_context (owner_client_id, owner_subject);

-- Resources an app created in a session after launch: one row each (O(1) per write).
CREATE TABLE halo_launch_context_resource (
  launch_id  text NOT NULL REFERENCES halo_launch_context (launch_id) ON DELETE CASCADE,
  reference  text NOT NULL,
  PRIMARY KEY (launch_id, reference)
);

-- ----------------------------------------------------------------------------- authorization
CREATE TABLE halo_authz_sign_in (
  id_hash     text        PRIMARY KEY,
  sign_in     jsonb       NOT NULL,
  attempts    integer     NOT NULL DEFAULT 0,
  owners      text[]      NOT NULL,                 -- address:..., client:...
  expires_at  timestamptz NOT NULL
);
CREATE INDEX halo_authz_sign_in_expiry ON halo_authz_sign_in (expires_at);
CREATE INDEX halo_authz_sign_in_owners ON halo_authz_sign_in USING gin (owners);

CREATE TABLE halo_authz_account_attempt (
  account_hash  text        PRIMARY KEY,
  attempts      integer     NOT NULL,
  owners        text[]      NOT NULL,               -- address:...
  expires_at    timestamptz NOT NULL
);
CREATE INDEX halo_authz_account_attempt_expiry ON halo_authz_account_attempt (expires_at);
CREATE INDEX halo_authz_account_attempt_owners ON halo_authz_account_attempt USING gin (owners);

CREATE TABLE halo_authz_sso_session (
  session_hash  text        PRIMARY KEY,
  user_info     jsonb       NOT NULL,
  owners        text[]      NOT NULL,               -- user:...
  expires_at    timestamptz NOT NULL
);
CREATE INDEX halo_authz_sso_session_expiry ON halo_authz_sso_session (expires_at);
CREATE INDEX halo_authz_sso_session_owners ON halo_authz_sso_session USING gin (owners);

-- A code lives until its expiry while fresh, then (used_by_grant set) until the end of its
-- replay window, so that a replay can end the grant it started.
CREATE TABLE halo_authz_code (
  code_hash      text        PRIMARY KEY,
  grant_value    jsonb       NOT NULL,
  used_by_grant  text,
  owners         text[]      NOT NULL,              -- user:...
  expires_at     timestamptz NOT NULL
);
CREATE INDEX halo_authz_code_expiry ON halo_authz_code (expires_at);
CREATE INDEX halo_authz_code_owners ON halo_authz_code USING gin (owners);

CREATE TABLE halo_authz_grant (
  grant_id      text        PRIMARY KEY,
  client_id     text        NOT NULL,
  grant_value   jsonb       NOT NULL,
  refresh_hash  text,                               -- SHA-256 of the current refresh token
  prior_hashes  text[]      NOT NULL DEFAULT '{}',  -- the last 32 it had, to spot a replay
  owners        text[]      NOT NULL,               -- user:...
  expires_at    timestamptz NOT NULL
);
CREATE INDEX halo_authz_grant_expiry ON halo_authz_grant (expires_at);
CREATE INDEX halo_authz_grant_owners ON halo_authz_grant USING gin (owners);

CREATE TABLE halo_authz_revoked_token (
  jti         text        PRIMARY KEY,
  client_id   text        NOT NULL,
  owners      text[]      NOT NULL,                 -- client:...
  expires_at  timestamptz NOT NULL
);
CREATE INDEX halo_authz_revoked_token_expiry ON halo_authz_revoked_token (expires_at);
CREATE INDEX halo_authz_revoked_token_owners ON halo_authz_revoked_token USING gin (owners);

CREATE TABLE halo_authz_assertion_jti (
  client_id   text        NOT NULL,
  jti         text        NOT NULL,
  owners      text[]      NOT NULL,                 -- client:...
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (client_id, jti)
);
CREATE INDEX halo_authz_assertion_jti_expiry ON halo_authz_assertion_jti (expires_at);
CREATE INDEX halo_authz_assertion_jti_owners ON halo_authz_assertion_jti USING gin (owners);

-- ----------------------------------------------------------------------------- row count triggers
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['halo_launch_context', 'halo_authz_sign_in',
      'halo_authz_account_attempt', 'halo_authz_sso_session', 'halo_authz_code',
      'halo_authz_grant', 'halo_authz_revoked_token', 'halo_authz_assertion_jti'] LOOP
    EXECUTE format('CREATE TRIGGER halo_count_insert AFTER INSERT ON %I'
        ' REFERENCING NEW TABLE AS halo_new_rows FOR EACH STATEMENT'
        ' EXECUTE FUNCTION halo_count_inserted()', t);
    EXECUTE format('CREATE TRIGGER halo_count_delete AFTER DELETE ON %I'
        ' REFERENCING OLD TABLE AS halo_old_rows FOR EACH STATEMENT'
        ' EXECUTE FUNCTION halo_count_deleted()', t);
  END LOOP;
END $$;

-- ----------------------------------------------------------------------------- audit
-- One row per AuditEvent (R4 JSON), with the columns one searches by. Rows older than the
-- retention are deleted by PostgresPurger.
CREATE TABLE halo_audit_event (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  recorded   timestamptz NOT NULL,
  subtype    text,
  action     text,
  outcome    text,
  client_id  text,
  event      jsonb       NOT NULL
);
CREATE INDEX halo_audit_event_recorded ON halo_audit_event (recorded);
CREATE INDEX halo_audit_event_subtype ON halo_audit_event (subtype, recorded);
CREATE INDEX halo_audit_event_client ON halo_audit_event (client_id, recorded);
