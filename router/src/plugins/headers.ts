/** Operations on flat, lower-cased header lists [name, value, …]; each returns a new list. */

export function getHeader(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** Replaces every `name` field with one `name: value` (appended when absent). */
export function setHeader(headers: readonly string[], name: string, value: string): string[] {
  const out: string[] = [];
  let done = false;
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== name) out.push(headers[i]!, headers[i + 1]!);
    else if (!done) {
      out.push(name, value);
      done = true;
    }
  }
  if (!done) out.push(name, value);
  return out;
}

export function removeHeaders(headers: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (!names.has(headers[i]!)) out.push(headers[i]!, headers[i + 1]!);
  return out;
}

/** The value of cookie `name` in the Cookie header(s), if any. */
export function getCookie(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'cookie') continue;
    for (const part of headers[i + 1]!.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}
