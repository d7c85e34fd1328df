/** Admission suites (auth, rate limits) run against the packaged artifact. */
package io.sluice.admission;
