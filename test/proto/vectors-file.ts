/**
 * Loads proto/vectors/vectors.json (format: proto/vectors/README.md) into typed values for the tests.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Message } from '../../proto/src/index.ts';

export type VectorFrame = string | { fill: string; length: number };
export interface ExpectedError {
  code: string;
  field?: string;
  stream?: number;
}
export type VectorResult = { message: Record<string, unknown> } | { error: ExpectedError };
export interface Vector {
  name: string;
  description: string;
  canonical: boolean;
  frames: VectorFrame[];
  results: VectorResult[];
}

export const VECTORS_PATH = fileURLToPath(new URL('../../proto/vectors/vectors.json', import.meta.url));

export function loadVectors(): Vector[] {
  const doc = JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as { format: string; formatVersion: number; vectors: Vector[] };
  if (doc.format !== 'zeroproxy-vectors' || doc.formatVersion !== 1) throw new Error(`unexpected vector file format in ${VECTORS_PATH}`);
  return doc.vectors;
}

export function frameBytes(f: VectorFrame): Buffer {
  return typeof f === 'string' ? Buffer.from(f, 'hex') : Buffer.alloc(f.length, Buffer.from(f.fill, 'hex'));
}

/** The JSON meaning of a vector message as a codec Message (hex bodies become Buffers). */
export function toMessage(meaning: Record<string, unknown>): Message {
  const m: Record<string, unknown> = { ...meaning };
  if (typeof m.body === 'string') m.body = Buffer.from(m.body, 'hex');
  return m as unknown as Message;
}
