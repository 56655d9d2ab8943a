/**
 * A suite that cannot run here (a tool is missing) must show up as SKIPPED in the summary. Node's
 * runner counts `describe(name, { skip })` under "suites" and reports `skipped 0`, so the summary
 * would hide it: this puts one skipped test, named after the suite and carrying the reason, in its place.
 */
import { describe, it } from 'node:test';

export function describeUnlessMissing(name: string, missing: string | false, body: () => void): void {
  if (missing === false) describe(name, body);
  else it(name, { skip: missing }, () => {});
}
