/**
 * Builds the real executable once per test process (bun test runs every file in one process
 * unless --isolate/--parallel: then once per file) into a temp folder removed after the run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBinary, type BuiltBinary } from "../../scripts/build.ts";
import { removeAtEndOfRun } from "../end-of-run.ts";

let built: Promise<BuiltBinary> | undefined;

export function builtBinary(): Promise<BuiltBinary> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), "timbre-binary-"));
    removeAtEndOfRun(dir);
    return buildBinary({ outfile: join(dir, "timbre") });
  })();
  return built;
}

/** Runs the binary to completion in `cwd` with exactly `env` (plus PATH/HOME). */
export function runBinary(binary: string, args: string[], cwd: string, env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync([binary, ...args], { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}
