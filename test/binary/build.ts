/**
 * Builds the real executable once per test file into a temp folder. bun test runs no exit
 * hooks, so each file that builds calls removeBuiltBinary() in its afterAll (even when its
 * tests fail); a later file in the same process then builds again (about 2 s).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, type BuiltBinary } from "../../scripts/build.ts";

let built: { dir: string; binary: Promise<BuiltBinary> } | undefined;

export function builtBinary(): Promise<BuiltBinary> {
  if (!built) {
    const dir = mkdtempSync(join(tmpdir(), "timbre-binary-"));
    built = { dir, binary: buildBinary({ outfile: join(dir, "timbre") }) };
  }
  return built.binary;
}

/** Deletes the executable and its folder; call in afterAll of every file that used builtBinary(). */
export async function removeBuiltBinary(): Promise<void> {
  if (!built) return;
  const { dir, binary } = built;
  built = undefined;
  await binary.catch(() => undefined); // a build still writing would recreate the file
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the binary to completion in `cwd` with exactly `env` (plus PATH/HOME). */
export function runBinary(binary: string, args: string[], cwd: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([binary, ...args], { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}
