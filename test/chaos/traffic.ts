/**
 * Background traffic for the chaos integration tests: `lanes` clients each sending chaos requests
 * (chaos/request.ts: GETs, POSTs, streamed downloads, every body checked byte for byte) one after
 * another until stopped. Every request is bounded, so stop() always returns.
 */
import { Agent } from 'undici';
import { Random } from '../../chaos/random.ts';
import { planRequest, runRequest, type Outcome } from '../../chaos/request.ts';

export interface Traffic {
  readonly outcomes: Outcome[];
  /** Stops starting requests; resolves once every lane's last request ended. */
  stop(): Promise<Outcome[]>;
}

export function startTraffic(baseUrl: string, lanes: number, seed: number, boundMs = 20_000): Traffic {
  const outcomes: Outcome[] = [];
  const rng = new Random(seed);
  const agent = new Agent({ connections: lanes, pipelining: 1 });
  const t0 = Date.now();
  let stopping = false;
  let index = 0;
  const lane = async (): Promise<void> => {
    // Bounded even if stop() is never called: at most 100k requests per lane.
    for (let i = 0; i < 100_000 && !stopping; i++) {
      const plan = planRequest(rng, index++, `traffic-${seed}`);
      outcomes.push(await runRequest(plan, baseUrl, agent, boundMs, () => Date.now() - t0));
    }
  };
  const running = Promise.all(Array.from({ length: lanes }, lane));
  return {
    outcomes,
    async stop() {
      stopping = true;
      await running;
      await agent.close();
      return outcomes;
    },
  };
}
