package ca.halo.examples.sandbox;

import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DateType;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Enumerations;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Quantity;
import org.hl7.fhir.r4.model.Reference;

/** The EMR's local chart for the demo patient, with the EMR's own ids. Fictional data. */
public final class SampleChart {
  public final Patient patient = new Patient();
  public final Encounter encounter = new Encounter();
  public final Practitioner practitioner = new Practitioner();
  public final Observation height = new Observation();
  public final Condition condition = new Condition();
  public final AllergyIntolerance allergy = new AllergyIntolerance();

  public SampleChart() {
    patient.setId("emr-pat-1001");
    patient.addIdentifier().setSystem("urn:oid:2.16.840.1.113883.4.999").setValue("MRN-1001");
    patient.addName().setFamily("Bouchard").addGiven("Élodie");
    patient.setGender(Enumerations.AdministrativeGender.FEMALE);
    patient.setBirthDateElement(new DateType("2019-04-12"));

    encounter.setId("emr-enc-77");
    encounter.setStatus(Encounter.EncounterStatus.INPROGRESS);
    encounter.setClass_(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB", "ambulatory"));
    encounter.setSubject(new Reference("Patient/emr-pat-1001"));

    practitioner.setId("emr-dr-5");
    practitioner.addName().setFamily("Clinician").addGiven("Sandbox").addPrefix("Dr.");

    height.setId("emr-obs-height");
    height.setStatus(Observation.ObservationStatus.FINAL);
    height.setCode(new CodeableConcept(new Coding("http://loinc.org", "8302-2", "Body height")));
    height.setSubject(new Reference("Patient/emr-pat-1001"));
    height.setEncounter(new Reference("Encounter/emr-enc-77"));
    height.setValue(new Quantity().setValue(108.5).setUnit("cm").setSystem("http://unitsofmeasure.org").setCode("cm"));

    condition.setId("emr-cond-3");
    condition.setSubject(new Reference("Patient/emr-pat-1001"));
    condition.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "195967001", "Asthma")));

    allergy.setId("emr-alg-2");
    allergy.setPatient(new Reference("Patient/emr-pat-1001"));
    allergy.setClinicalStatus(new CodeableConcept(new Coding(
        "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")));
    allergy.setCode(new CodeableConcept(new Coding("http://snomed.info/sct", "91935009", "Peanut allergy")));
  }

  public String patientName() {
    return patient.getNameFirstRep().getGivenAsSingleString() + " " + patient.getNameFirstRep().getFamily();
  }
}
