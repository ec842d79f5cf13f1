/**
 * Temp paths removed once after the whole run by the preload's afterAll (test/setup.ts), whether
 * the tests passed or failed: what several files share (the compiled binary), and every temp
 * folder a test made, in case a failure skipped its own clean-up. bun test runs no process
 * "exit" handlers, so a handler there would leave them behind.
 */
import { rmSync } from "node:fs";

const paths = new Set<string>();

export function removeAtEndOfRun(path: string): void {
  paths.add(path);
}

export function removeEndOfRunPaths(): void {
  for (const path of paths) rmSync(path, { recursive: true, force: true });
  paths.clear();
}
