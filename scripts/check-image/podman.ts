// podman, as far as it works in a sandbox without a registry: build a FROM-scratch image, read
// its configuration, copy its root filesystem out (`podman image mount`), remove it again.
// `podman run` is not used: it fails where cgroups or rlimits cannot be set (see run.ts).
import type { Healthcheck } from "./containerfile.ts";

export class PodmanError extends Error {
  override name = "PodmanError";
}

/** What `podman image inspect` says a container of the image runs. */
export interface ImageConfig {
  user: string;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  exposed: string[];
  stopSignal: string | undefined;
  healthcheck: Healthcheck | undefined;
}

function podman(args: string[]): { code: number; out: string; err: string } {
  const run = Bun.spawnSync(["podman", ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: run.exitCode, out: run.stdout.toString(), err: run.stderr.toString() };
}

export function podmanVersion(): string | undefined {
  if (!Bun.which("podman")) return undefined;
  const version = podman(["--version"]);
  return version.code === 0 ? version.out.trim() : undefined;
}

/** `podman build --format docker` (the OCI format drops HEALTHCHECK); throws with podman's output. */
export function buildImage(contextDir: string, tag: string): void {
  const build = podman(["build", "--format", "docker", "--no-cache", "-q", "-t", tag, contextDir]);
  if (build.code !== 0) throw new PodmanError(`podman build failed (${build.code}): ${build.err.trim() || build.out.trim()}`);
}

export function inspectImage(tag: string): ImageConfig {
  const inspect = podman(["image", "inspect", tag]);
  if (inspect.code !== 0) throw new PodmanError(`podman image inspect ${tag} failed: ${inspect.err.trim()}`);
  const [image] = JSON.parse(inspect.out) as [{ Config: Record<string, unknown> & { Healthcheck?: Record<string, unknown> }; Healthcheck?: Record<string, unknown> }];
  const config = image.Config;
  const health = config.Healthcheck ?? image.Healthcheck;
  const env = Object.fromEntries(((config.Env as string[] | undefined) ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  const ns = (value: unknown, fallback: number) => (typeof value === "number" ? value / 1e6 : fallback);
  return {
    user: (config.User as string | undefined) ?? "",
    env,
    entrypoint: (config.Entrypoint as string[] | undefined) ?? [],
    cmd: (config.Cmd as string[] | undefined) ?? [],
    workdir: (config.WorkingDir as string | undefined) || "/",
    exposed: Object.keys((config.ExposedPorts as Record<string, unknown> | undefined) ?? {}),
    stopSignal: (config.StopSignal as string | undefined) || undefined,
    healthcheck: health
      ? {
          test: (health.Test as string[]).slice(1),
          intervalMs: ns(health.Interval, 30_000),
          timeoutMs: ns(health.Timeout, 30_000),
          startPeriodMs: ns(health.StartPeriod, 0),
          retries: (health.Retries as number | undefined) ?? 3,
        }
      : undefined,
  };
}

/** Copies the image's root filesystem to `into` (owners and modes kept) and unmounts it again. */
export function extractImage(tag: string, into: string): void {
  const mount = podman(["image", "mount", tag]);
  if (mount.code !== 0) throw new PodmanError(`podman image mount ${tag} failed: ${mount.err.trim()}`);
  try {
    // cp -a keeps owners, modes and links, as the image has them.
    const copy = Bun.spawnSync(["cp", "-a", `${mount.out.trim()}/.`, into], { stdout: "pipe", stderr: "pipe" });
    if (copy.exitCode !== 0) throw new PodmanError(`copying the image's files out failed: ${copy.stderr.toString().trim()}`);
  } finally {
    podman(["image", "unmount", tag]);
  }
}

export function removeImage(tag: string): void {
  podman(["image", "unmount", tag]);
  podman(["rmi", "-f", tag]);
}
