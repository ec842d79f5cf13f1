/** Agent module folders as a user makes them: a bot file, sibling files, a node_modules of their own. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT, tempDir } from "../helpers.ts";

export interface AgentFolder {
  path: string;
  /** Writes `relative` (folders created) and returns its absolute path. */
  write(relative: string, text: string): string;
  cleanup(): void;
}

export function agentFolder(prefix = "timbre-agent-"): AgentFolder {
  const dir = tempDir(prefix);
  return {
    path: dir.path,
    write(relative, text) {
      const file = join(dir.path, relative);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    cleanup: dir.cleanup,
  };
}

/** A tiny CommonJS package installed in the folder's node_modules: `shout(s)` upper-cases and adds "!". */
export function installShoutPackage(folder: AgentFolder, name = "tiny-shout"): void {
  folder.write(`node_modules/${name}/package.json`, JSON.stringify({ name, version: "1.0.0", main: "index.js" }));
  folder.write(`node_modules/${name}/index.js`, 'exports.shout = (text) => String(text).toUpperCase() + "!";\n');
}

/** `bun src/main.ts ...args` in `cwd` with exactly `env` (plus PATH and HOME), run to its exit. */
export async function runTimbre(args: string[], cwd: string, env: Record<string, string> = {}, cmd = [process.execPath, join(ROOT, "src/main.ts")]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([...cmd, ...args], { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/**
 * Type-checks the folder as a user would, with nothing installed: `tsc -p .` with the
 * tsconfig.json the README and examples/ give. The exit code and tsc's output.
 */
export function typeCheck(folder: AgentFolder): { code: number; output: string } {
  folder.write("tsconfig.json", readFileSync(join(ROOT, "examples/tsconfig.json"), "utf8"));
  const tsc = Bun.spawnSync([process.execPath, join(ROOT, "node_modules/typescript/bin/tsc"), "-p", folder.path], { cwd: folder.path, stdout: "pipe", stderr: "pipe" });
  return { code: tsc.exitCode, output: `${tsc.stdout.toString()}${tsc.stderr.toString()}` };
}
