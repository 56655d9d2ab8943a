/**
 * CPU time from /proc on real processes: this test process itself, and spawned children that burn
 * a known amount of CPU (each child measures its own burn with process.cpuUsage(), which the
 * /proc numbers must agree with). Linux only, like the feature. First, the arithmetic on hand-made snapshots.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ChildSet, type ManagedChild } from '../children.ts';
import { clockTicksPerSecond, CLIENT_ROLE, cpuPerRequest, openCpuWindow, takeCpuSnapshot, type CpuSnapshot, type ProcessTicks } from '../cpu.ts';
import { parseProcStat, processTree, readProcStat } from '../proc.ts';
import { pollUntil } from '../../test/helpers/waiting.ts';

const linux = { skip: process.platform !== 'linux' ? 'reads Linux /proc' : false } as const;
const WAIT_MS = 20_000;
/** How much CPU each burn uses, in µs (the brief: a child burning CPU for ~200 ms). */
const BURN_US = 200_000;
/**
 * /proc and process.cpuUsage() count the same kernel accounting; they differ by tick truncation
 * and the little the child does around its burn (signal handling, one console.log).
 */
const TOLERANCE_US = 40_000;

/**
 * A plain-node child (no tsx: quick to start). Modes: "wait" burns BURN_US on SIGUSR2 and prints
 * what it used; "exit" burns once, prints its whole lifetime's CPU and exits; "parent" only starts a
 * "wait" grandchild (like nginx's master starting its worker) and idles.
 */
const BURNER = `
const burn = () => {
  const start = process.cpuUsage();
  let used = 0;
  while (used < ${BURN_US}) { const u = process.cpuUsage(start); used = u.user + u.system; }
  return used;
};
const mode = process.argv[1];
if (mode === 'parent') {
  require('node:child_process').spawn(process.execPath, ['-e', process.env.BURNER_CODE, 'wait'], { stdio: 'inherit' });
} else if (mode === 'exit') {
  burn();
  const u = process.cpuUsage();
  console.log('total ' + (u.user + u.system));
  process.exit(0);
} else {
  process.on('SIGUSR2', () => console.log('burned ' + burn()));
  console.log('ready ' + process.pid);
}
setInterval(() => {}, 1 << 30);
`;

const children = new ChildSet((line) => process.stderr.write(`${line}\n`));
after(() => children.shutdown());

function startBurner(mode: 'wait' | 'exit' | 'parent'): ManagedChild {
  return children.start({
    name: `burner ${mode}`,
    command: process.execPath,
    args: ['-e', BURNER, mode],
    env: { ...process.env, BURNER_CODE: BURNER },
    cleanExits: ['exit code 0', 'SIGTERM'],
  });
}

function numberAfter(prefix: string): (line: string) => number | undefined {
  return (line) => (line.startsWith(prefix) ? Number(line.slice(prefix.length)) : undefined);
}

/** Sends SIGUSR2 to `pid` and waits for the burn's report. */
async function burn(child: ManagedChild, pid: number): Promise<number> {
  const used = child.waitForLine(numberAfter('burned '), WAIT_MS, '"burned" line');
  process.kill(pid, 'SIGUSR2');
  return used;
}

function assertNear(actualUs: number, expectedUs: number, what: string): void {
  assert.ok(Math.abs(actualUs - expectedUs) <= TOLERANCE_US, `${what}: /proc says ${actualUs} µs, the process itself ${expectedUs} µs`);
}

function snapshot(roles: Record<string, { root: string; processes: Record<string, ProcessTicks> }>, reapedTicks: number | null): CpuSnapshot {
  return {
    roles: new Map(Object.entries(roles).map(([role, s]) => [role, { root: s.root, processes: new Map(Object.entries(s.processes)) }])),
    reapedTicks,
  };
}

// 100 ticks per second: one tick is 10 ms. 10,000 requests: one tick is 1 µs per request.
const HZ = 100;
const REQUESTS = 10_000;

const BEFORE = snapshot(
  {
    router: { root: '10:5', processes: { '10:5': { ticks: 100, main: 60, zmqIo: 10 } } },
    nginx: { root: '20:5', processes: { '20:5': { ticks: 5 }, '21:6': { ticks: 100 } } },
    backend: { root: '30:5', processes: { '30:5': { ticks: 7 } } },
  },
  1000,
);

test('µs per request: tick delta × 10⁶ / CLK_TCK / requests, per role, summed over its processes', () => {
  const after = snapshot(
    {
      router: { root: '10:5', processes: { '10:5': { ticks: 400, main: 300, zmqIo: 40 } } },
      // The worker 21 used 200 ticks; a process that appeared during the run (22) counts from 0.
      nginx: { root: '20:5', processes: { '20:5': { ticks: 5 }, '21:6': { ticks: 300 }, '22:9': { ticks: 50 } } },
      backend: { root: '30:5', processes: { '30:5': { ticks: 57 } } },
    },
    1100,
  );
  const usage = cpuPerRequest(BEFORE, after, REQUESTS, HZ);
  assert.deepEqual(usage, {
    byRole: { router: 300, nginx: 250, backend: 50, wrk: 100 },
    total: 600,
    threads: { router: { main: 240, zmqIo: 30, other: 30 } },
  });
  // Other units: 250 ticks at CLK_TCK 250 over 4 requests = 1 s / 4 = 250,000 µs; rounded to 0.01 µs.
  const one = (ticks: number): CpuSnapshot => snapshot({ x: { root: '1:1', processes: { '1:1': { ticks } } } }, null);
  assert.equal(cpuPerRequest(one(0), one(250), 4, 250)?.byRole['x'], 250_000);
  assert.equal(cpuPerRequest(one(0), one(1), 3, 100)?.byRole['x'], 3333.33);
});

test('no number for a role that exited, was replaced or lost a process; none at all without snapshots or requests', () => {
  const after = snapshot(
    {
      // Same pid, another start time: a restarted process, not the one measured.
      router: { root: '10:77', processes: { '10:77': { ticks: 1 } } },
      // nginx's worker 21 is gone: part of its CPU would be missing.
      nginx: { root: '20:5', processes: { '20:5': { ticks: 5 } } },
    },
    null,
  );
  const usage = cpuPerRequest(BEFORE, after, REQUESTS, HZ);
  assert.deepEqual(usage, { byRole: {}, total: 0, threads: {} });
  assert.equal(cpuPerRequest(null, BEFORE, REQUESTS, HZ), null, 'not Linux');
  assert.equal(cpuPerRequest(BEFORE, null, REQUESTS, HZ), null);
  assert.equal(cpuPerRequest(BEFORE, BEFORE, 0, HZ), null, 'no request completed');
});

test('a stat line is parsed from the last ")" (comm may hold spaces and parentheses)', () => {
  const fields = ['S', '7', ...Array(9).fill('0'), '11', '22', '3', '4', ...Array(4).fill('0'), '999', '0'];
  const stat = parseProcStat(`42 (a ) (b) c) ${fields.join(' ')}`);
  assert.deepEqual(stat, { ppid: 7, utime: 11, stime: 22, cutime: 3, cstime: 4, starttime: 999 });
  assert.equal(parseProcStat('not a stat line'), undefined);
  assert.equal(parseProcStat('1 (x) S'), undefined, 'too few fields');
});

test("this process's own /proc stat: its parent, and the CPU it has used to load tsx and this file", linux, async () => {
  const stat = await readProcStat(process.pid);
  assert.ok(stat);
  assert.equal(stat.ppid, process.ppid);
  assert.ok(stat.utime + stat.stime > 0);
  assert.ok(await readProcStat(process.pid, process.pid), 'the main thread has its own stat');
  assert.equal(await readProcStat(2 ** 22 + 1), undefined, 'a pid that cannot exist reads as gone');
  const hz = await clockTicksPerSecond();
  assert.ok(Number.isInteger(hz) && hz > 0);
});

test("a child's burn shows up as its CPU per request, on its main thread", linux, async () => {
  const child = startBurner('wait');
  await child.waitForLine(numberAfter('ready '), WAIT_MS, '"ready" line');
  const roles = [{ role: 'burner', pid: child.pid, threads: true }];
  const hz = await clockTicksPerSecond();
  const before = await takeCpuSnapshot(roles);
  const used = await burn(child, child.pid);
  const usage = cpuPerRequest(before, await takeCpuSnapshot(roles), 1, hz);
  assert.ok(usage);
  assertNear(usage.byRole['burner']!, used, 'burner');
  assert.equal(usage.total, usage.byRole['burner']);
  const t = usage.threads['burner'];
  assert.ok(t, 'thread split recorded');
  assert.ok(t.main >= usage.total / 2, `the burn ran on the main thread: ${JSON.stringify(t)}`);
  assert.equal(t.zmqIo, 0, 'no ZeroMQ in this child');
  await children.stop([child]);
});

test("a role counts its descendants (nginx's master + worker): a grandchild's burn is the role's", linux, async () => {
  const parent = startBurner('parent');
  const grandchild = await parent.waitForLine(numberAfter('ready '), WAIT_MS, "the grandchild's \"ready\" line");
  assert.notEqual(grandchild, parent.pid);
  assert.deepEqual((await processTree(parent.pid))?.sort(), [parent.pid, grandchild].sort());
  const window = await openCpuWindow([{ role: 'front', pid: parent.pid }]);
  const used = await burn(parent, grandchild);
  // Divided by 10 "requests": µs per request is a tenth of the burn.
  const usage = await window.finish(10);
  assert.ok(usage);
  assertNear(usage.byRole['front']! * 10, used, 'master + worker');
  await children.stop([parent]);
});

test('a role whose process, or one process of its tree, exits during the run gets no number', linux, async () => {
  const stays = startBurner('wait');
  const leaves = startBurner('wait');
  const parent = startBurner('parent');
  await Promise.all([stays, leaves].map((c) => c.waitForLine(numberAfter('ready '), WAIT_MS, '"ready" line')));
  const grandchild = await parent.waitForLine(numberAfter('ready '), WAIT_MS, "the grandchild's \"ready\" line");
  const window = await openCpuWindow([
    { role: 'stays', pid: stays.pid },
    { role: 'leaves', pid: leaves.pid },
    { role: 'loses a worker', pid: parent.pid },
  ]);
  await children.stop([leaves]);
  process.kill(grandchild, 'SIGKILL');
  // Nothing announces a grandchild's end to us: poll /proc, bounded.
  await pollUntil(async () => ((await processTree(parent.pid))?.includes(grandchild) ? undefined : true), WAIT_MS, 'the grandchild to go away');
  const usage = await window.finish(1);
  assert.ok(usage);
  assert.ok('stays' in usage.byRole);
  assert.ok(!('leaves' in usage.byRole), 'a root gone before the second snapshot is left out');
  assert.ok(!('loses a worker' in usage.byRole), 'a role missing part of its tree is left out');
  assert.equal(usage.total, usage.byRole['stays']);
  await children.stop([stays, parent]);
});

test('the client (wrk) is measured from the CPU of the child reaped during the run, outside the total', linux, async () => {
  const stays = startBurner('wait');
  await stays.waitForLine(numberAfter('ready '), WAIT_MS, '"ready" line');
  const window = await openCpuWindow([{ role: 'server', pid: stays.pid }]);
  // The stand-in for wrk: a child that starts, burns and exits inside the window.
  const client = startBurner('exit');
  const clientUs = await client.waitForLine(numberAfter('total '), WAIT_MS, '"total" line');
  assert.equal(await client.exited, 'exit code 0');
  const usage = await window.finish(1);
  assert.ok(usage);
  assertNear(usage.byRole[CLIENT_ROLE]!, clientUs, 'client');
  assert.equal(usage.total, usage.byRole['server'], 'the client is not part of the total');
  await children.stop([stays]);
});

test('a role whose process cannot be read at the start is simply absent', linux, async () => {
  const window = await openCpuWindow([{ role: 'ghost', pid: 2 ** 22 + 1 }]);
  const usage = await window.finish(100);
  assert.ok(usage);
  assert.deepEqual(Object.keys(usage.byRole).filter((r) => r !== CLIENT_ROLE), []);
  assert.equal(usage.total, 0);
});
