/**
 * Implementation details of this artifact, not API: anything here may change or go in any
 * release without notice. Use the public packages instead.
 */
package ca.halo.server.postgres.internal;
