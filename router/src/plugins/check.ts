/** Small config checkers for plugins: each failure is a PluginConfigError naming the key path. */
import { PluginConfigError } from './types.ts';

export type Path = readonly (string | number)[];

export function fail(path: Path, message: string): never {
  throw new PluginConfigError(path, message);
}

export function object(value: unknown, path: Path): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'must be a mapping');
  return value as Record<string, unknown>;
}

/** Refuses keys the plugin does not know (a typo must not be silently ignored). */
export function onlyKeys(value: Record<string, unknown>, allowed: readonly string[], path: Path): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) fail([...path, key], `unknown key (allowed: ${allowed.join(', ')})`);
  }
}

export function string(value: unknown, path: Path, options: { nonEmpty?: boolean } = {}): string {
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (options.nonEmpty !== false && value === '') fail(path, 'must not be empty');
  return value;
}

/** YAML scalars such as `true` or `5` become strings, as the dispatcher seed's patch values do. */
export function scalarString(value: unknown, path: Path): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  fail(path, 'must be a string, number or boolean');
}

export function integer(value: unknown, path: Path, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) fail(path, 'must be an integer');
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  return value;
}

export function number(value: unknown, path: Path, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(path, 'must be a number');
  if (value < min || value > max) fail(path, `must be between ${min} and ${max}`);
  return value;
}

export function oneOf<T extends string>(value: unknown, path: Path, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(path, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

export function list(value: unknown, path: Path): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be a list');
  return value;
}

/** A header name: an RFC 9110 token, returned lower-case. */
export function headerName(value: unknown, path: Path): string {
  const name = string(value, path);
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) fail(path, `"${name}" is not a valid header name`);
  return name.toLowerCase();
}

/** A header value without control characters (no CR/LF injection). */
export function headerValue(value: unknown, path: Path): string {
  const v = scalarString(value, path);
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(v)) fail(path, 'must not contain control characters');
  return v;
}

/** A `name: value` mapping of headers. */
export function headerMap(value: unknown, path: Path): [string, string][] {
  const map = object(value, path);
  return Object.entries(map).map(([k, v]) => [headerName(k, [...path, k]), headerValue(v, [...path, k])]);
}

export function headerNames(value: unknown, path: Path): string[] {
  return list(value, path).map((v, i) => headerName(v, [...path, i]));
}
