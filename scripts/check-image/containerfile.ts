// Reads the project's Containerfile into its two stages, the way the image check needs it: the
// build stage's steps (to rehearse them on this machine) and the runtime stage's COPY lines and
// settings (to build a FROM-scratch twin of it and to run its entrypoint as the image would).
// Only the instructions the Containerfile uses are understood; anything else is an error that
// says so, so the check never silently skips a step it does not know.
import { Glob } from "bun";

export class ContainerfileError extends Error {
  override name = "ContainerfileError";
}

export interface Copy {
  /** A stage name for `COPY --from=...`; undefined: the build context. */
  from?: string;
  chown?: string;
  sources: string[];
  dest: string;
}

export type BuildStep = { kind: "workdir"; path: string } | { kind: "copy"; copy: Copy } | { kind: "run"; command: string } | { kind: "env"; env: Record<string, string> };

export interface Healthcheck {
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
}

/** The runtime stage: what the image holds and how a container runs it. */
export interface RuntimeStage {
  from: string;
  copies: Copy[];
  env: Record<string, string>;
  workdir: string;
  user: string;
  exposed: string[];
  stopSignal: string | undefined;
  healthcheck: Healthcheck | undefined;
  entrypoint: string[];
  cmd: string[];
  labels: Record<string, string>;
  /** The stage's instructions as written (FROM left out), for a twin that differs only where it must. */
  instructions: { keyword: string; args: string }[];
}

export interface Containerfile {
  build: { from: string; name: string; steps: BuildStep[] };
  runtime: RuntimeStage;
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Joins `\` continuations and drops comments; each instruction keeps its first line number. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending: Instruction | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (line.trim() === "" && !pending)) return;
    const continued = line.endsWith("\\");
    const body = continued ? line.slice(0, -1) : line;
    if (pending) pending.args += ` ${body.trim()}`;
    else {
      const match = /^\s*(\S+)\s*(.*)$/.exec(body)!;
      pending = { keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: index + 1 };
    }
    if (!continued) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

function fail(instruction: Instruction, message: string): never {
  throw new ContainerfileError(`Containerfile line ${instruction.line} (${instruction.keyword}): ${message}`);
}

/** Words separated by spaces; double-quoted parts (`B="two words"`) stay in their word, unquoted. */
function words(args: string): string[] {
  return [...args.matchAll(/(?:[^\s"]+|"(?:[^"\\]|\\.)*")+/g)].map((m) => m[0].replace(/"((?:[^"\\]|\\.)*)"/g, (_, inner: string) => inner.replace(/\\(.)/g, "$1")));
}

function execForm(instruction: Instruction, args: string): string[] {
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((p) => typeof p === "string")) return parsed as string[];
  } catch {
    // reported below
  }
  fail(instruction, `expected the exec form ["/path", "arg", ...] (a shell form would put /bin/sh in front of timbre, and SIGTERM would not reach it); got ${args}`);
}

function keyValues(instruction: Instruction): Record<string, string> {
  const pairs: Record<string, string> = {};
  const list = words(instruction.args);
  if (list.length === 2 && !list[0]!.includes("=")) return { [list[0]!]: list[1]! };
  for (const word of list) {
    const eq = word.indexOf("=");
    if (eq <= 0) fail(instruction, `expected KEY=VALUE pairs, got ${JSON.stringify(word)}`);
    pairs[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return pairs;
}

function copyOf(instruction: Instruction): Copy {
  const list = words(instruction.args);
  const copy: Partial<Copy> = {};
  while (list[0]?.startsWith("--")) {
    const flag = list.shift()!;
    const [name, value] = [flag.slice(2, flag.indexOf("=") < 0 ? undefined : flag.indexOf("=")), flag.slice(flag.indexOf("=") + 1)];
    if (name === "from") copy.from = value;
    else if (name === "chown") copy.chown = value;
    else fail(instruction, `the image check does not know COPY ${flag}; teach scripts/check-image/ what it does`);
  }
  if (list.length < 2) fail(instruction, "expected COPY [--from=STAGE] [--chown=U:G] SOURCE... DEST");
  return { ...copy, sources: list.slice(0, -1), dest: list.at(-1)! } as Copy;
}

const DURATION = /^(\d+)(ms|s|m|h)$/;
function milliseconds(instruction: Instruction, value: string): number {
  const match = DURATION.exec(value);
  if (!match) fail(instruction, `expected a duration like 30s, got ${value}`);
  return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as "ms" | "s" | "m" | "h"];
}

function healthcheckOf(instruction: Instruction): Healthcheck {
  // Docker's defaults for the options left out.
  const check: Healthcheck = { test: [], intervalMs: 30_000, timeoutMs: 30_000, startPeriodMs: 0, retries: 3 };
  let rest = instruction.args;
  for (let match = /^--([a-z-]+)=(\S+)\s+/.exec(rest); match; match = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    const [, name, value] = match;
    if (name === "interval") check.intervalMs = milliseconds(instruction, value!);
    else if (name === "timeout") check.timeoutMs = milliseconds(instruction, value!);
    else if (name === "start-period") check.startPeriodMs = milliseconds(instruction, value!);
    else if (name === "retries") check.retries = Number(value);
    else fail(instruction, `unknown option --${name}`);
    rest = rest.slice(match[0].length);
  }
  if (!rest.startsWith("CMD ")) fail(instruction, "expected HEALTHCHECK [--options] CMD [...]");
  check.test = execForm(instruction, rest.slice(4).trim());
  return check;
}

/** Parses `text` (the Containerfile) into the build stage and the runtime stage. */
export function parseContainerfile(text: string): Containerfile {
  const args: Record<string, string> = {};
  const stages: { from: string; name: string; body: Instruction[]; at: Instruction }[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === "ARG" && stages.length === 0) {
      Object.assign(args, keyValues(instruction));
    } else if (instruction.keyword === "FROM") {
      const [image, as, name] = words(instruction.args.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => args[arg] ?? fail(instruction, `ARG ${arg} has no default`)));
      if (as !== undefined && (as.toUpperCase() !== "AS" || !name)) fail(instruction, "expected FROM IMAGE [AS NAME]");
      stages.push({ from: image!, name: name ?? String(stages.length), body: [], at: instruction });
    } else if (stages.length === 0) {
      fail(instruction, "comes before the first FROM");
    } else {
      stages.at(-1)!.body.push(instruction);
    }
  }
  if (stages.length !== 2) throw new ContainerfileError(`Containerfile: expected two stages (build, runtime), found ${stages.length}`);
  const [buildStage, runtimeStage] = stages as [(typeof stages)[0], (typeof stages)[0]];

  const steps: BuildStep[] = buildStage.body.map((instruction) => {
    if (instruction.keyword === "WORKDIR") return { kind: "workdir", path: instruction.args };
    if (instruction.keyword === "RUN") return { kind: "run", command: instruction.args };
    if (instruction.keyword === "ENV") return { kind: "env", env: keyValues(instruction) };
    if (instruction.keyword === "COPY") {
      const copy = copyOf(instruction);
      if (copy.from !== undefined || copy.chown !== undefined) fail(instruction, "the build stage copies from the build context only");
      return { kind: "copy", copy };
    }
    return fail(instruction, "the image check cannot rehearse this in the build stage");
  });

  const runtime: RuntimeStage = { from: runtimeStage.from, copies: [], env: {}, workdir: "/", user: "", exposed: [], stopSignal: undefined, healthcheck: undefined, entrypoint: [], cmd: [], labels: {}, instructions: runtimeStage.body.map(({ keyword, args }) => ({ keyword, args })) };
  for (const instruction of runtimeStage.body) {
    const k = instruction.keyword;
    if (k === "COPY") runtime.copies.push(copyOf(instruction));
    else if (k === "ENV") Object.assign(runtime.env, keyValues(instruction));
    else if (k === "LABEL") Object.assign(runtime.labels, keyValues(instruction));
    else if (k === "WORKDIR") runtime.workdir = instruction.args;
    else if (k === "USER") runtime.user = instruction.args;
    else if (k === "EXPOSE") runtime.exposed.push(...words(instruction.args).map((p) => (p.includes("/") ? p : `${p}/tcp`)));
    else if (k === "STOPSIGNAL") runtime.stopSignal = instruction.args;
    else if (k === "HEALTHCHECK") runtime.healthcheck = healthcheckOf(instruction);
    else if (k === "ENTRYPOINT") runtime.entrypoint = execForm(instruction, instruction.args);
    else if (k === "CMD") runtime.cmd = execForm(instruction, instruction.args);
    else if (k === "VOLUME") fail(instruction, "Railway's builder refuses VOLUME; the platforms and compose.yaml mount /data themselves");
    else if (k === "RUN") fail(instruction, "the runtime image has no shell; do the work in the build stage");
    else fail(instruction, "the image check does not know this instruction in the runtime stage");
  }
  for (const copy of runtime.copies) {
    if (copy.from !== buildStage.name) throw new ContainerfileError(`Containerfile: the runtime stage copies from ${copy.from ?? "the build context"}; the check expects every file to come from the ${buildStage.name} stage`);
  }
  if (runtime.entrypoint.length === 0) throw new ContainerfileError("Containerfile: the runtime stage has no ENTRYPOINT");
  return { build: { from: buildStage.from, name: buildStage.name, steps }, runtime };
}

/**
 * `.dockerignore` as the builder applies it: each line a glob over paths relative to the
 * context, `!` re-includes, the last matching line wins, and a line that matches a folder
 * matches everything in it.
 */
export function ignoreMatcher(text: string): (relativePath: string) => boolean {
  const rules = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => ({ include: l.startsWith("!"), glob: new Glob(l.replace(/^!/, "").replace(/^\/+|\/+$/g, "")) }));
  return (relativePath) => {
    const parts = relativePath.split("/");
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.glob.match(p))) ignored = !rule.include;
    return ignored;
  };
}
