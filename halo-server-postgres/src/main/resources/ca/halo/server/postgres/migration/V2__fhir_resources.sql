-- The FHIR resources of the SoFA's launch sessions (PostgresFhirRepository).
--
-- fhir_resource holds the current version of each live resource: its JSON (HAPI's compact
-- encoding, meta.versionId and meta.lastUpdated set) and the columns the searches use.
-- fhir_resource_version holds the earlier versions still kept (at most maxVersions - 1 per
-- resource); deleting a resource deletes its history with it.

CREATE TABLE fhir_resource (
  res_type          text        NOT NULL,
  res_id            text        NOT NULL,
  version           integer     NOT NULL CHECK (version > 0),
  last_updated      timestamptz NOT NULL,
  -- Patient/<id> of the patient compartment (PatientCompartment.patientOf), or null
  patient           text,
  -- Encounter/<id> (PatientCompartment.encounterOf), or null
  encounter         text,
  -- each identifier that has a value, as system|value (system empty when it has none)
  identifiers       text[]      NOT NULL DEFAULT '{}',
  -- the same identifiers' values alone, for identifier=value searches
  identifier_values text[]      NOT NULL DEFAULT '{}',
  -- codes of the meta.tag entries of the SoFA session system, in order; the first is the
  -- session a search's sessionFilter sees
  session_tags      text[]      NOT NULL DEFAULT '{}',
  resource          jsonb       NOT NULL,
  PRIMARY KEY (res_type, res_id)
);

-- patient= / subject=, and encounter=: in id order, as the searches page through them
CREATE INDEX fhir_resource_patient_idx ON fhir_resource (res_type, patient, res_id)
  WHERE patient IS NOT NULL;
CREATE INDEX fhir_resource_encounter_idx ON fhir_resource (res_type, encounter, res_id)
  WHERE encounter IS NOT NULL;
CREATE INDEX fhir_resource_last_updated_idx ON fhir_resource (res_type, last_updated);
CREATE INDEX fhir_resource_identifiers_idx ON fhir_resource USING gin (identifiers);
CREATE INDEX fhir_resource_identifier_values_idx ON fhir_resource USING gin (identifier_values);
-- a session's resources, for searches by session tag and the purge at $clear-context
CREATE INDEX fhir_resource_session_tags_idx ON fhir_resource USING gin (session_tags);

CREATE TABLE fhir_resource_version (
  res_type     text        NOT NULL,
  res_id       text        NOT NULL,
  version      integer     NOT NULL,
  last_updated timestamptz NOT NULL,
  resource     jsonb       NOT NULL,
  PRIMARY KEY (res_type, res_id, version),
  FOREIGN KEY (res_type, res_id) REFERENCES fhir_resource (res_type, res_id) ON DELETE CASCADE
);
