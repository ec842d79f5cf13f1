/** Reading one environment variable as a value of a kind, or a ConfigError naming it (config.ts puts them together). */

/** A bad environment value; the message is the one line printed before exiting. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

export type Env = Record<string, string | undefined>;

export function fail(name: string, value: string, allowed: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: ${allowed}`);
}

/** A root or base URL that paths are added to: a query or fragment (even a bare "?" or "#", which URL reads as none) would swallow them. */
export function refuseQueryOrFragment(name: string, raw: string, example: string): void {
  if (/[?#]/.test(raw)) fail(name, raw, `expected a root URL without query or fragment, such as ${example}`);
}

/** Reads a variable; empty strings count as unset so `FOO=` in an env file means "default". */
export function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) fail(name, raw, `expected a whole number from ${min} to ${max}`);
  const value = Number(raw);
  if (value < min || value > max) fail(name, raw, `expected a whole number from ${min} to ${max}`);
  return value;
}

export function positiveNumber(env: Env, name: string, fallback: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0) || value > max) {
    fail(name, raw, `expected a number greater than 0 and at most ${max}`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  const value = raw.toLowerCase() as T;
  if (!allowed.includes(value)) fail(name, raw, `expected one of ${allowed.join(", ")}`);
  return value;
}

export function flag(env: Env, name: string): boolean {
  const raw = read(env, name);
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (["1", "true", "on", "yes"].includes(value)) return true;
  if (["0", "false", "off", "no"].includes(value)) return false;
  return fail(name, raw, "expected on or off (also true/false, 1/0, yes/no)");
}
