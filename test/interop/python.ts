/** Where the Python side of the interop tests lives, and whether this machine can run it. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Debian's python, which has python3-zmq and python3-msgpack; a pyenv `python3` on PATH may not. */
export const PYTHON = '/usr/bin/python3';
export const WORKER_DIR = path.join(ROOT, 'examples', 'python-worker');
export const FIXTURE_WORKER = path.join(ROOT, 'test', 'interop', 'python_fixture_worker.py');

/** A skip reason when /usr/bin/python3 cannot import zmq and msgpack, else false. */
export function pythonMissing(): string | false {
  const probe = spawnSync(PYTHON, ['-c', 'import zmq, msgpack'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.status === 0) return false;
  const why = (probe.stderr || String(probe.error ?? '')).trim();
  return `${PYTHON} lacks zmq/msgpack (apt-get install python3-zmq python3-msgpack): ${why}`;
}
