// `bun run build`: compiles src/main.ts into one self-contained executable, dist/timbre, with
// the Bun runtime, migrations, the sandbox page and the Swagger UI inside it (all imported, so
// bundled), a minified bundle, an embedded source map, and the git commit it was built from.
//
//   bun run build                                  dist/timbre for this machine
//   bun run build -- --target linux-arm64          dist/timbre-linux-arm64 (also linux-x64, *-musl, all)
//   bun run build -- --outfile /tmp/x/timbre       somewhere else (tests, benchmarks)
//   bun run build -- --target linux-arm64 --executable-path ./bun-aarch64
//                                                  cross-compile offline with a Bun binary you have
//
// Cross targets need the Bun runtime of that platform: Bun fetches it from the npm registry
// (@oven/bun-<platform>) on first use and keeps it in ~/.bun/install/cache.
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { gitCommit, VERSION } from "../src/build-info.ts";

const ROOT = join(import.meta.dir, "..");
const ENTRY = join(ROOT, "src/main.ts");

/** Short names offered by `--target`; any `bun-...` compile target Bun knows is accepted too. */
export const TARGETS = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "linux-arm64-musl": "bun-linux-arm64-musl",
  "linux-x64-baseline": "bun-linux-x64-baseline",
} as const satisfies Record<string, Bun.Build.CompileTarget>;

export interface BuildOptions {
  /** A key of TARGETS or a `bun-...` target; undefined: this machine's platform, with the running Bun. */
  target?: string;
  /** Default: dist/timbre (this machine) or dist/timbre-<target>. */
  outfile?: string;
  /** A Bun executable of the target platform, instead of fetching one (offline cross-compiling). */
  executablePath?: string;
}

export interface BuiltBinary {
  outfile: string;
  target: string;
  commit: string;
  bytes: number;
  ms: number;
}

export class BuildError extends Error {
  override name = "BuildError";
}

function compileTarget(target: string): Bun.Build.CompileTarget {
  if (target in TARGETS) return TARGETS[target as keyof typeof TARGETS];
  if (target.startsWith("bun-")) return target as Bun.Build.CompileTarget;
  throw new BuildError(`unknown target ${JSON.stringify(target)}: expected one of ${Object.keys(TARGETS).join(", ")}, all, or a Bun compile target such as bun-darwin-arm64`);
}

export async function buildBinary(options: BuildOptions = {}): Promise<BuiltBinary> {
  const started = performance.now();
  const target = options.target === undefined ? undefined : compileTarget(options.target);
  const name = options.target === undefined ? "timbre" : `timbre-${options.target.replace(/^bun-/, "")}`;
  const outfile = resolve(options.outfile ?? join(ROOT, "dist", name));
  mkdirSync(dirname(outfile), { recursive: true });
  const commit = gitCommit(ROOT) ?? "unknown";
  const result = await Bun.build({
    entrypoints: [ENTRY],
    compile: {
      outfile,
      ...(target ? { target } : {}),
      ...(options.executablePath ? { executablePath: resolve(options.executablePath) } : {}),
      // Configuration comes from the environment only (a .env in the working directory is still
      // read, as with `bun start`); a stray bunfig.toml must not change how the service runs.
      autoloadBunfig: false,
      // An agent module's packages resolve as from source: without it, a package whose entry is
      // in a subfolder ("main": "dist/index.js", an "exports" map) cannot be imported.
      autoloadPackageJson: true,
      // And their folder's tsconfig.json "paths" (`import … from "@lib/greet.ts"`), as from source.
      autoloadTsconfig: true,
    },
    minify: true,
    // With compile, the source map is embedded: stack traces name src/... lines.
    sourcemap: "linked",
    // Parsing moved to build time: the binary is healthy in ~70 ms instead of ~160 ms (bench/binary.ts).
    // ESM keeps src/main.ts's top-level await (bytecode otherwise defaults to CommonJS).
    bytecode: true,
    format: "esm",
    define: { BUILD_COMMIT: JSON.stringify(commit) },
  }).catch((error: unknown) => {
    // Bun.build throws an AggregateError whose messages say what failed (also a failed runtime download).
    const errors = error instanceof AggregateError ? error.errors : [error];
    throw new BuildError(errors.map((e) => (e instanceof Error ? e.message : String(e))).join("\n"));
  });
  if (!result.success) throw new BuildError(result.logs.map((log) => String(log)).join("\n"));
  // The map beside the binary is a copy of the embedded one: dist/ holds just the executable.
  for (const output of result.outputs) if (output.kind === "sourcemap") rmSync(output.path, { force: true });
  if (!existsSync(outfile)) throw new BuildError(`bun build reported success but ${outfile} is missing`);
  return { outfile, target: target ?? "this machine", commit, bytes: statSync(outfile).size, ms: Math.round(performance.now() - started) };
}

const USAGE = `usage: bun run build [-- [--target ${Object.keys(TARGETS).join("|")}|all|bun-...]... [--outfile PATH] [--executable-path PATH]]\n`;

function parseArgs(argv: string[]): { targets: (string | undefined)[]; outfile?: string; executablePath?: string } | string {
  const targets: string[] = [];
  let outfile: string | undefined;
  let executablePath: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "--help" || flag === "-h") return USAGE;
    const takesValue = flag === "--target" || flag === "--outfile" || flag === "--executable-path";
    if (!takesValue) return `build: unexpected ${JSON.stringify(arg)}\n${USAGE}`;
    const v = value();
    if (!v) return `build: ${flag} needs a value\n${USAGE}`;
    if (flag === "--target") targets.push(...(v === "all" ? Object.keys(TARGETS).filter((t) => t !== "linux-x64-baseline") : v.split(",")));
    else if (flag === "--outfile") outfile = v;
    else executablePath = v;
  }
  for (const target of targets) {
    try {
      compileTarget(target);
    } catch (error) {
      return `build: ${(error as Error).message}\n${USAGE}`;
    }
  }
  if (outfile !== undefined && targets.length > 1) return `build: --outfile needs a single target\n${USAGE}`;
  return { targets: targets.length ? targets : [undefined], ...(outfile ? { outfile } : {}), ...(executablePath ? { executablePath } : {}) };
}

if (import.meta.main) {
  const parsed = parseArgs(process.argv.slice(2));
  if (typeof parsed === "string") {
    if (parsed === USAGE) process.stdout.write(USAGE);
    else process.stderr.write(parsed);
    process.exit(parsed === USAGE ? 0 : 2);
  }
  let failed = 0;
  for (const target of parsed.targets) {
    try {
      const built = await buildBinary({
        ...(target !== undefined ? { target } : {}),
        ...(parsed.outfile ? { outfile: parsed.outfile } : {}),
        ...(parsed.executablePath ? { executablePath: parsed.executablePath } : {}),
      });
      const mib = (built.bytes / 1024 / 1024).toFixed(1);
      process.stdout.write(`built ${built.outfile} (timbre ${VERSION}, commit ${built.commit}, ${built.target}, ${mib} MiB, ${built.ms} ms)\n`);
    } catch (error) {
      failed++;
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`build failed for ${target ?? "this machine"}: ${message}\n`);
      if (target !== undefined) process.stderr.write("  cross targets need the Bun runtime of that platform from the npm registry (@oven/bun-*); offline, pass --executable-path\n");
    }
  }
  process.exit(failed ? 1 : 0);
}
