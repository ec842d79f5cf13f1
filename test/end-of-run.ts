/**
 * Paths several test files share (the compiled binary), removed once after the whole run by the
 * preload's afterAll (test/setup.ts), whether the tests passed or failed. bun test runs no
 * process "exit" handlers, so a handler there would leave the folder behind.
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
