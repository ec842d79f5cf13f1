// Runs an image's entrypoint from its unpacked root folder the way a container runtime would,
// without one (`podman run` fails in sandboxes that cannot set cgroups or rlimits): in new mount
// and PID namespaces, with /proc and a minimal /dev mounted, chrooted into the root folder, in the
// image's working directory, as the image's user, with exactly the image's environment. The
// entrypoint becomes PID 1 of its namespace, as in a container, so a SIGTERM sent to it is the
// one `docker stop` or a platform sends. Needs root (CAP_SYS_ADMIN for the namespaces and mounts).
import { readFileSync } from "node:fs";
import type { Subprocess } from "bun";

/** The PATH Docker and podman give a container whose image sets none. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface RunSpec {
  root: string;
  argv: string[];
  env: Record<string, string>;
  workdir: string;
  uid: number;
  gid: number;
}

// Inside the new mount namespace (private: nothing leaks to the host), before the chroot: what
// an OCI runtime mounts for every container. Then `unshare --root` chroots, changes into the
// working directory and drops to the user; exec keeps the same PID (1) throughout.
const LAUNCH = `set -e
root=$0 wd=$1 gid=$2 uid=$3; shift 3
mkdir -p "$root/proc" "$root/dev"
mount -t proc proc "$root/proc"
mount -t tmpfs -o nosuid,mode=0755 tmpfs "$root/dev"
for node in null zero full random urandom; do touch "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"; done
mkdir "$root/dev/shm"; mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$root/dev/shm"
exec unshare --root="$root" --wd="$wd" --setgid="$gid" --setuid="$uid" -- "$@"`;

/** Starts `spec.argv` as PID 1 of new namespaces; the returned process is the host-side `unshare`. */
export function launch(spec: RunSpec): Subprocess<"ignore", "pipe", "pipe"> {
  return Bun.spawn(["unshare", "--mount", "--pid", "--fork", "--kill-child", "--", "sh", "-c", LAUNCH, spec.root, spec.workdir, String(spec.gid), String(spec.uid), ...spec.argv], {
    env: { PATH: DEFAULT_PATH, ...spec.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

async function collect(stream: ReadableStream<Uint8Array>, into: { text: string }): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) into.text += decoder.decode(chunk);
}

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs to completion in new namespaces: `podman run --rm IMAGE ARGS` without podman. */
export async function runOnce(spec: RunSpec): Promise<Outcome> {
  const proc = launch(spec);
  const out = { text: "" };
  const err = { text: "" };
  await Promise.all([collect(proc.stdout, out), collect(proc.stderr, err), proc.exited]);
  return { code: proc.exitCode ?? -1, stdout: out.text, stderr: err.text };
}

/** A running container: its PID 1 seen from the host, its output, and `exec` into it. */
export interface Container {
  /** The host's PID of the entrypoint (PID 1 inside). */
  pid: number;
  output(): string;
  /** The exit code once the container has ended, else null. */
  exitCode(): number | null;
  /** Uid, Gid and NSpid lines of the entrypoint's /proc status. */
  status(): { uid: number; gid: number; pidInside: number };
  /** Like `podman exec`: `argv` in the container's namespaces and root, as its user, with `env`. */
  exec(argv: string[], env: Record<string, string>): Outcome;
  /** Sends `signal` to PID 1 and waits for the exit code (the host-side unshare passes it on). */
  stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number>;
  /** SIGKILL, for cleanup after a failure. */
  kill(): void;
}

async function poll<T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`check-image: timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

export async function startContainer(spec: RunSpec, timeoutMs = 10_000): Promise<Container> {
  const proc = launch(spec);
  const out = { text: "" };
  void collect(proc.stdout, out);
  void collect(proc.stderr, out);
  const kill = () => proc.kill("SIGKILL");
  // The forked child of unshare is the namespace's PID 1; it is the entrypoint once the exec chain has dropped to the user.
  const pid = await poll(
    () => {
      if (proc.exitCode !== null) throw new Error(`check-image: the entrypoint exited with ${proc.exitCode} before it started:\n${out.text}`);
      const child = Number(readOr(`/proc/${proc.pid}/task/${proc.pid}/children`)?.trim().split(/\s+/)[0]);
      const uid = /^Uid:\s+(\d+)/m.exec(readOr(`/proc/${child}/status`) ?? "")?.[1];
      return child > 0 && Number(uid) === spec.uid ? child : undefined;
    },
    "the entrypoint to start as the image's user",
    timeoutMs,
  ).catch((error) => {
    kill();
    throw error;
  });
  return {
    pid,
    output: () => out.text,
    exitCode: () => proc.exitCode,
    status() {
      const text = readOr(`/proc/${pid}/status`) ?? "";
      const field = (name: string) => (new RegExp(`^${name}:\\s+(.+)$`, "m").exec(text)?.[1] ?? "").trim().split(/\s+/).map(Number);
      return { uid: field("Uid")[0]!, gid: field("Gid")[0]!, pidInside: field("NSpid").at(-1)! };
    },
    exec(argv, env) {
      const run = Bun.spawnSync(["nsenter", `--target=${pid}`, "--mount", "--pid", "--root", "--wd", `--setgid=${spec.gid}`, `--setuid=${spec.uid}`, "--", ...argv], {
        env: { PATH: DEFAULT_PATH, ...env },
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
    },
    async stop(signal, timeout) {
      process.kill(pid, signal);
      const timer = setTimeout(kill, timeout);
      const code = await proc.exited;
      clearTimeout(timer);
      return code;
    },
    kill,
  };
}

/** Confirms this machine can run a container this way (root, namespaces, mounts), with the reason if not. */
export function namespacesUsable(): string | undefined {
  if (process.getuid?.() !== 0) return "running the entrypoint in a chroot with its own namespaces needs root";
  for (const tool of ["unshare", "nsenter", "mount"]) if (!Bun.which(tool, { PATH: DEFAULT_PATH })) return `${tool} is missing (util-linux / mount)`;
  const probe = Bun.spawnSync(["unshare", "--mount", "--pid", "--fork", "--", "true"], { env: { PATH: DEFAULT_PATH }, stderr: "pipe" });
  return probe.exitCode === 0 ? undefined : `unshare --mount --pid failed (${probe.stderr.toString().trim()}): the check needs CAP_SYS_ADMIN, as a container runtime does`;
}
