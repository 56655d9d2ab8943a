/** The hedge delay from the observed p95: the fallback until enough samples, then the 95th percentile of the latest. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatencyWindow, LATENCY_SAMPLES, MIN_SAMPLES_FOR_P95 } from '../../router/src/core/attempts-latency.ts';

describe('hedge delay (observed p95)', () => {
  it('uses the fallback until enough latencies were seen', () => {
    const w = new LatencyWindow();
    for (let i = 0; i < MIN_SAMPLES_FOR_P95 - 1; i++) w.record(5);
    assert.equal(w.p95(100), 100);
    w.record(5);
    assert.equal(w.p95(100), 5);
  });

  it('is the 95th percentile of the latest samples, older ones forgotten', () => {
    const w = new LatencyWindow();
    for (let i = 1; i <= 100; i++) w.record(i);
    assert.equal(w.p95(0), 95);
    for (let i = 0; i < LATENCY_SAMPLES; i++) w.record(7);
    assert.equal(w.p95(0), 7);
  });
});
