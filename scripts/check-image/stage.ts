// The file side of the image check: the build stage rehearsed on this machine, the stand-in for
// the distroless runtime base (the glibc files `ldd` names, CA certificates, the nonroot user),
// the runtime stage's COPY lines applied to a folder, and a listing to compare two root folders.
import { chmodSync, chownSync, cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ignoreMatcher, type BuildStep, type Copy } from "./containerfile.ts";

/**
 * The runtime base the Containerfile names, and what of it the binary uses. The check stands
 * in for it with these files; when the Containerfile changes its base, change this too.
 */
export const RUNTIME_BASE = {
  image: "gcr.io/distroless/base-nossl-debian13:nonroot",
  caCertificates: "/etc/ssl/certs/ca-certificates.crt",
  // distroless's own entries (base/testdata/base.yaml in GoogleContainerTools/distroless).
  passwd: "root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
  group: "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n",
};

export class StageError extends Error {
  override name = "StageError";
}

/**
 * Copies the build context (what .dockerignore lets through) into `into`, then runs the build
 * stage's steps there: WORKDIR /src is `into/src`, COPY copies from the context, RUN runs in
 * `sh -c`. RUN lines must use paths relative to WORKDIR, which they do in the Containerfile.
 */
export function rehearseBuildStage(contextDir: string, steps: BuildStep[], into: string, log: (line: string) => void): void {
  const ignorePath = join(contextDir, ".dockerignore");
  const ignored = ignoreMatcher(safeRead(ignorePath) ?? "");
  let workdir = "/";
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
  for (const step of steps) {
    if (step.kind === "workdir") {
      workdir = step.path.startsWith("/") ? step.path : join(workdir, step.path);
      mkdirSync(join(into, workdir), { recursive: true });
    } else if (step.kind === "env") {
      Object.assign(env, step.env);
    } else if (step.kind === "copy") {
      const dest = step.copy.dest.startsWith("/") ? step.copy.dest : join(workdir, step.copy.dest);
      for (const source of step.copy.sources) copyFromContext(contextDir, source, join(into, dest), step.copy.dest.endsWith("/") || step.copy.sources.length > 1 || source === ".", ignored);
    } else {
      log(`check-image: build stage: RUN ${step.command}`);
      const run = Bun.spawnSync(["sh", "-c", step.command], { cwd: join(into, workdir), env, stdout: "pipe", stderr: "pipe" });
      if (run.exitCode !== 0) throw new StageError(`the build stage's RUN ${step.command} failed with ${run.exitCode}:\n${run.stdout.toString()}${run.stderr.toString()}`);
      const out = run.stdout.toString().trim();
      if (out) log(out.split("\n").map((l) => `  ${l}`).join("\n"));
    }
  }
}

function safeRead(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function copyFromContext(contextDir: string, source: string, dest: string, intoFolder: boolean, ignored: (p: string) => boolean): void {
  const from = join(contextDir, source);
  if (statSync(from).isDirectory()) {
    // A folder's contents are copied into DEST, as COPY does.
    cpSync(from, dest, { recursive: true, filter: (path) => path === from || !ignored(relative(contextDir, path)) });
    return;
  }
  if (ignored(relative(contextDir, from))) throw new StageError(`COPY ${source}: .dockerignore leaves it out of the build context`);
  const target = intoFolder ? join(dest, source.split("/").at(-1)!) : dest;
  mkdirSync(dirname(target), { recursive: true });
  cpSync(from, target);
}

/** The shared libraries `ldd` says `binary` loads (the loader included), as absolute paths. */
export function sharedLibraries(binary: string): string[] {
  const ldd = Bun.spawnSync(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  const text = ldd.stdout.toString();
  if (ldd.exitCode !== 0 || /not found/.test(text)) throw new StageError(`ldd ${binary} failed: ${text}${ldd.stderr.toString()}`);
  const paths = [...text.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]!);
  if (!paths.some((p) => p.includes("libc.so"))) throw new StageError(`ldd ${binary} names no libc: ${text}`);
  return paths;
}

/** The stand-in for RUNTIME_BASE: the libraries `binary` needs, CA certificates, passwd and group, /tmp. */
export function standInBase(binary: string, into: string): void {
  for (const library of sharedLibraries(binary)) {
    mkdirSync(join(into, dirname(library)), { recursive: true });
    cpSync(library, join(into, library), { dereference: true });
  }
  mkdirSync(join(into, dirname(RUNTIME_BASE.caCertificates)), { recursive: true });
  try {
    cpSync(RUNTIME_BASE.caCertificates, join(into, RUNTIME_BASE.caCertificates), { dereference: true });
  } catch {
    throw new StageError(`${RUNTIME_BASE.caCertificates} is missing on this machine (apt-get install -y ca-certificates); the runtime image carries it`);
  }
  writeFileSync(join(into, "etc/passwd"), RUNTIME_BASE.passwd);
  writeFileSync(join(into, "etc/group"), RUNTIME_BASE.group);
  mkdirSync(join(into, "tmp"));
  chmodSync(join(into, "tmp"), 0o1777);
}

/** `user` ("65532:65532", "nonroot" or "65532") as numbers, read from the root folder's passwd. */
export function resolveUser(root: string, user: string): { uid: number; gid: number; home: string } {
  const [name, group] = user.split(":") as [string, string | undefined];
  const passwd = (safeRead(join(root, "etc/passwd")) ?? "").split("\n").map((l) => l.split(":"));
  const entry = passwd.find((f) => f[0] === name || f[2] === name);
  if (!entry && !/^\d+$/.test(name)) throw new StageError(`USER ${user}: no such user in the image's /etc/passwd`);
  const uid = entry ? Number(entry[2]) : Number(name);
  const gid = group !== undefined ? Number(group) : entry ? Number(entry[3]) : uid;
  if (!Number.isInteger(gid)) throw new StageError(`USER ${user}: the group must be numeric`);
  return { uid, gid, home: entry?.[5] ?? "/" };
}

/**
 * Applies the runtime stage's COPY lines to `root` the way the builder does: a folder's contents
 * go into DEST, and with --chown the copied files and the folders COPY creates get that owner.
 */
export function applyCopies(root: string, copies: Copy[], sourceOf: (copy: Copy, source: string) => string): void {
  for (const copy of copies) {
    for (const source of copy.sources) {
      const from = sourceOf(copy, source);
      const isDir = statSync(from).isDirectory();
      const dest = join(root, isDir || !copy.dest.endsWith("/") ? copy.dest : join(copy.dest, source.split("/").at(-1)!));
      const created = isDir ? firstMissing(root, dest) : firstMissing(root, dirname(dest));
      mkdirSync(isDir ? dest : dirname(dest), { recursive: true });
      cpSync(from, dest, { recursive: true });
      if (copy.chown !== undefined) {
        const { uid, gid } = resolveUser(root, copy.chown);
        chownTree(dest, uid, gid);
        if (!isDir && created) chownTree(created, uid, gid);
      }
    }
  }
}

function firstMissing(root: string, path: string): string | undefined {
  let missing: string | undefined;
  for (let p = path; p.length > root.length; p = dirname(p)) {
    try {
      lstatSync(p);
      break;
    } catch {
      missing = p;
    }
  }
  return missing;
}

function chownTree(path: string, uid: number, gid: number): void {
  chownSync(path, uid, gid);
  if (lstatSync(path).isDirectory()) for (const entry of readdirSync(path)) chownTree(join(path, entry), uid, gid);
}

/** Every path under `root` with its type, mode, owner and size (or link target): two roots compare equal line by line. */
export function listing(root: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      const st = lstatSync(path);
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : "f";
      const detail = st.isSymbolicLink() ? `-> ${readlinkSync(path)}` : st.isDirectory() ? "" : String(st.size);
      lines.push(`${kind} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} /${relative(root, path)} ${detail}`.trimEnd());
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return lines;
}

