/**
 * The kit's machinery (HTTP with redacted recording, the scripted browser, the checks
 * themselves). Not API: it may change in any release.
 */
package ca.halo.conformance.internal;
