-- Subscriptions (CA:FSub), their numbered events and websocket binding tokens, and the
-- authorization server's signing keys: what every SoFA node shares so that any node can
-- deliver any subscription and validate any token.

CREATE TABLE halo_subscription (
  id                 text PRIMARY KEY,
  owner_key          text NOT NULL,
  quota_key          text NOT NULL,
  subscriber         jsonb NOT NULL,            -- the Principal notifications are judged for
  subscriber_session text,                      -- its launch session, for $clear-context
  subscription_json  text NOT NULL,
  channel            text NOT NULL CHECK (channel IN ('REST_HOOK', 'WEBSOCKET')),
  endpoint           text,
  headers            text[] NOT NULL,
  payload            text NOT NULL,
  timeout_seconds    bigint NOT NULL,
  heartbeat_seconds  bigint NOT NULL,
  max_count          integer NOT NULL,
  filter_type        text,
  filter_patient     text,
  filter_launch      text,
  status             text NOT NULL,
  error              text,
  last_event         bigint NOT NULL DEFAULT 0,   -- numbered by appendEvent only
  last_sent          bigint NOT NULL,
  failures           integer NOT NULL,
  handshake_pending  boolean NOT NULL,
  lapsed             boolean NOT NULL,
  created_at         timestamptz NOT NULL,
  last_sent_at       timestamptz,
  last_probe_at      timestamptz,
  next_attempt_at    timestamptz,
  lease_owner        text,                      -- the node delivering it now
  lease_until        timestamptz
);
CREATE INDEX halo_subscription_owner ON halo_subscription (owner_key, created_at);
CREATE INDEX halo_subscription_quota ON halo_subscription (quota_key);
CREATE INDEX halo_subscription_session ON halo_subscription (subscriber_session)
  WHERE subscriber_session IS NOT NULL;
CREATE INDEX halo_subscription_lease ON halo_subscription (lease_owner) WHERE lease_owner IS NOT NULL;
-- what a poll looks for first: undelivered events
CREATE INDEX halo_subscription_backlog ON halo_subscription (created_at) WHERE last_sent < last_event;

CREATE TABLE halo_subscription_event (
  subscription_id text NOT NULL REFERENCES halo_subscription (id) ON DELETE CASCADE,
  number          bigint NOT NULL,
  at              timestamptz NOT NULL,
  focus           text NOT NULL,
  PRIMARY KEY (subscription_id, number)
);
CREATE INDEX halo_subscription_event_at ON halo_subscription_event (at);

-- only the SHA-256 of a token is kept: a database reader cannot bind a socket with it
CREATE TABLE halo_binding_token (
  token_hash      text PRIMARY KEY,
  subscription_id text NOT NULL REFERENCES halo_subscription (id) ON DELETE CASCADE,
  expires_at      timestamptz NOT NULL,
  seq             bigserial NOT NULL
);
CREATE INDEX halo_binding_token_subscription ON halo_binding_token (subscription_id, seq);
CREATE INDEX halo_binding_token_expires ON halo_binding_token (expires_at);

-- private_jwk is the RSA private JWK, or a JWE (dir, A256GCM) of it when the store has a
-- key-encryption key
CREATE TABLE halo_signing_key (
  kid         text PRIMARY KEY,
  private_jwk text NOT NULL,
  active_from timestamptz NOT NULL,
  seq         bigserial NOT NULL
);
