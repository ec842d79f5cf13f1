// `bun scripts/check-image.ts`: checks the container image as far as a machine without a
// registry and without a working `podman run` allows (run as root; about 20 s).
//
//   1. Reads Containerfile: the build stage (official Bun image) and the runtime stage
//      (distroless), and refuses what the check does not understand.
//   2. Rehearses the build stage here: the context .dockerignore lets through, its COPY and RUN
//      steps (bun install, bun run build) in a temp folder, with this machine's Bun.
//   3. Builds the runtime stage's twin FROM scratch with podman: the same lines, with the
//      distroless base replaced by the files the binary needs from it (the glibc files `ldd`
//      names, CA certificates, passwd and group with its nonroot user, /tmp), and compares the
//      image's configuration with the Containerfile. Without podman, or when podman cannot build,
//      it makes the same root folder by applying the COPY lines itself; with podman it makes both
//      and requires them to be identical.
//   4. Runs the image's entrypoint from that root folder as a container would: PID 1 of new
//      namespaces, chrooted, as the image's user, with the image's environment. It checks that it
//      migrates a new /data database, serves /healthz, answers a message end to end (sandbox
//      mode, the echo agent), passes `timbre healthcheck` (the HEALTHCHECK), stops on SIGTERM with
//      exit 0, and that the healthcheck then fails.
//
//   bun scripts/check-image.ts [--no-podman | --podman]   (default: podman when it is installed)
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseContainerfile, type Containerfile, type Copy } from "./check-image/containerfile.ts";
import { buildImage, extractImage, inspectImage, podmanVersion, removeImage, type ImageConfig } from "./check-image/podman.ts";
import { DEFAULT_PATH, namespacesUsable, runOnce, startContainer, type RunSpec } from "./check-image/run.ts";
import { applyCopies, listing, rehearseBuildStage, resolveUser, RUNTIME_BASE, sharedLibraries, standInBase } from "./check-image/stage.ts";

const ROOT = join(import.meta.dir, "..");

export class ImageCheckError extends Error {
  override name = "ImageCheckError";
}

export interface ImageCheckOptions {
  /** true: podman must build; false: never use it; undefined: when installed, falling back if it cannot build. */
  podman?: boolean;
  log?: (line: string) => void;
}

export interface ImageCheckReport {
  /** How the root folder that ran was made. */
  root: "podman" | "folder";
  podman: string | undefined;
  /** Why podman was not used, when it is installed. */
  podmanSkipped: string | undefined;
  version: string;
  config: ImageConfig;
  layout: string[];
  run: {
    uid: number;
    gid: number;
    pidInside: number;
    health: unknown;
    healthcheck: { code: number; stdout: string };
    echoed: string;
    exitCode: number;
    healthcheckAfterStop: { code: number; stderr: string };
    migrations: number;
    databaseOwner: string;
  };
}

function expectThat(ok: boolean, message: string): void {
  if (!ok) throw new ImageCheckError(`check-image: ${message}`);
}

/** The image configuration the Containerfile declares, as podman reports one (PATH as runtimes add it). */
function declaredConfig(file: Containerfile): ImageConfig {
  const r = file.runtime;
  return { user: r.user, env: { PATH: DEFAULT_PATH, ...r.env }, entrypoint: r.entrypoint, cmd: r.cmd, workdir: r.workdir, exposed: r.exposed, stopSignal: r.stopSignal, healthcheck: r.healthcheck };
}

/** The runtime stage on a stand-in base: FROM scratch, `COPY base/ /`, the COPY lines from `from-build/`, the rest as written. */
function scratchTwin(file: Containerfile): string {
  const lines = ["# Written by scripts/check-image.ts: Containerfile's runtime stage with its base replaced by base/.", "FROM scratch", "COPY base/ /"];
  const copies = [...file.runtime.copies];
  for (const { keyword, args } of file.runtime.instructions) {
    if (keyword !== "COPY") {
      lines.push(`${keyword} ${args}`);
      continue;
    }
    const copy = copies.shift()!;
    lines.push(`COPY ${copy.chown ? `--chown=${copy.chown} ` : ""}${copy.sources.map((s) => `from-build${s}`).join(" ")} ${copy.dest}`);
  }
  return `${lines.join("\n")}\n`;
}

function sameConfig(actual: ImageConfig, declared: ImageConfig): string[] {
  const differences: string[] = [];
  for (const key of Object.keys(declared) as (keyof ImageConfig)[]) {
    if (Bun.deepEquals(actual[key], declared[key])) continue;
    differences.push(`${key}: podman says ${JSON.stringify(actual[key])}, the Containerfile ${JSON.stringify(declared[key])}`);
  }
  return differences;
}

async function freePort(): Promise<number> {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  await probe.stop(true);
  return port;
}

async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      // A failed fetch is retried; the check's own verdict is final.
      if (error instanceof ImageCheckError) throw error;
      last = error;
    }
    if (Date.now() > deadline) throw new ImageCheckError(`check-image: timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${String(last)})` : ""}`);
    await Bun.sleep(50);
  }
}

export async function checkImage(options: ImageCheckOptions = {}): Promise<ImageCheckReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const file = parseContainerfile(readFileSync(join(ROOT, "Containerfile"), "utf8"));
  expectThat(file.runtime.from === RUNTIME_BASE.image, `the runtime stage is FROM ${file.runtime.from}, but the check's stand-in mirrors ${RUNTIME_BASE.image}; update RUNTIME_BASE in scripts/check-image/stage.ts with it`);
  const cannotRun = namespacesUsable();
  if (cannotRun) throw new ImageCheckError(`check-image: ${cannotRun}`);

  const work = mkdtempSync(join(tmpdir(), "timbre-image-check-"));
  const tag = `localhost/timbre-image-check:${process.pid}`;
  let built = false;
  let container: Awaited<ReturnType<typeof startContainer>> | undefined;
  try {
    // 2. The build stage, rehearsed.
    const buildRoot = join(work, "build");
    rehearseBuildStage(ROOT, file.build.steps, buildRoot, log);
    const entry = file.runtime.entrypoint[0]!;
    const binaryCopy = file.runtime.copies.find((c) => c.dest === entry);
    expectThat(binaryCopy !== undefined, `no COPY line puts the entrypoint ${entry} into the image`);
    const binary = join(buildRoot, binaryCopy!.sources[0]!);
    const version = Bun.spawnSync([binary, "--version"], { stdout: "pipe" }).stdout.toString().trim();
    log(`check-image: the build stage made ${binaryCopy!.sources[0]} (${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB; ${version})`);

    // 3. The twin's build context: base/ stands in for distroless, from-build/ holds what the build stage made.
    const context = join(work, "context");
    standInBase(binary, join(context, "base"));
    for (const copy of file.runtime.copies) {
      for (const source of copy.sources) {
        expectThat(source.startsWith("/"), `COPY --from=${copy.from} ${source}: use an absolute path in the build stage`);
        mkdirSync(join(context, "from-build", source, ".."), { recursive: true });
        Bun.spawnSync(["cp", "-a", join(buildRoot, source), join(context, "from-build", source)]);
        expectThat(existsSync(join(context, "from-build", source)), `the build stage made no ${source}`);
      }
    }
    writeFileSync(join(context, "Containerfile"), scratchTwin(file));

    const podman = options.podman === false ? undefined : podmanVersion();
    expectThat(options.podman !== true || podman !== undefined, "--podman was asked for, but podman is not installed (apt-get install -y podman)");
    let podmanSkipped: string | undefined = podman ? undefined : options.podman === false ? "--no-podman" : "podman is not installed";
    let config = declaredConfig(file);
    let imageRoot: string | undefined;
    if (podman) {
      try {
        buildImage(context, tag);
        built = true;
        config = inspectImage(tag);
        const differences = sameConfig(config, declaredConfig(file));
        expectThat(differences.length === 0, `the image's configuration differs from the Containerfile:\n  ${differences.join("\n  ")}`);
        imageRoot = join(work, "root-image");
        mkdirSync(imageRoot);
        extractImage(tag, imageRoot);
        log(`check-image: ${podman} built the FROM-scratch twin of the runtime stage; its configuration matches the Containerfile`);
      } catch (error) {
        if (options.podman === true || error instanceof ImageCheckError) throw error;
        podmanSkipped = error instanceof Error ? error.message : String(error);
        imageRoot = undefined;
        log(`check-image: podman could not build (${podmanSkipped}); checking the root folder made without it`);
      }
    }

    // The same root folder without podman; with podman, it must equal the image's.
    const folderRoot = join(work, "root-folder");
    mkdirSync(folderRoot);
    Bun.spawnSync(["cp", "-a", `${join(context, "base")}/.`, folderRoot]);
    applyCopies(folderRoot, file.runtime.copies, (_copy: Copy, source: string) => join(context, "from-build", source));
    const layout = listing(folderRoot);
    if (imageRoot) {
      const fromImage = listing(imageRoot);
      const onlyImage = fromImage.filter((l) => !layout.includes(l));
      const onlyFolder = layout.filter((l) => !fromImage.includes(l));
      expectThat(onlyImage.length + onlyFolder.length === 0, `the image's files differ from the folder made without podman:\n  image only: ${onlyImage.join("\n    ")}\n  folder only: ${onlyFolder.join("\n    ")}`);
    }
    const root = imageRoot ?? folderRoot;

    // What the binary needs is there, and the user can write its database folder.
    const { uid, gid, home } = resolveUser(root, config.user);
    expectThat(uid !== 0, `the image runs as root (USER ${config.user || "unset"})`);
    for (const library of sharedLibraries(binary)) expectThat(existsSync(join(root, library)), `${library} (from ldd) is not in the image`);
    expectThat(existsSync(join(root, RUNTIME_BASE.caCertificates)), `${RUNTIME_BASE.caCertificates} is not in the image`);
    const dataDir = join(root, config.workdir);
    expectThat(statSync(dataDir).uid === uid, `${config.workdir} is not owned by the image's user ${uid}: a new volume there would not be writable`);

    // 4. The entrypoint, run as the image runs it: sandbox mode (no token, the built-in Bot API emulator), the echo agent.
    const port = await freePort();
    const env = { ...config.env, HOME: home, PORT: String(port), HOST: "127.0.0.1", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };
    const spec: RunSpec = { root, argv: [...config.entrypoint, ...config.cmd], env, workdir: config.workdir, uid, gid };
    container = await startContainer(spec);
    const url = `http://127.0.0.1:${port}`;
    const started = container;
    const health = await until(async () => {
      const ended = started.exitCode();
      if (ended !== null) throw new ImageCheckError(`check-image: the entrypoint exited with ${ended} instead of serving; output:\n${started.output()}`);
      const response = await fetch(`${url}/healthz`);
      return response.status === 200 ? ((await response.json()) as unknown) : undefined;
    }, `${url}/healthz to answer 200`).catch((error: Error) => {
      throw started.exitCode() !== null ? error : new ImageCheckError(`${error.message}; output:\n${started.output()}`);
    });
    const status = container.status();
    const probe = config.healthcheck?.test ?? [];
    expectThat(probe.length > 0, "the image has no HEALTHCHECK");
    const inside = container.exec(probe, env);
    expectThat(inside.code === 0, `the HEALTHCHECK ${probe.join(" ")} failed (${inside.code}): ${inside.stderr}`);

    const text = `from the image ${process.pid}`;
    const send = await fetch(`${url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: { id: 4242, first_name: "Image" }, text }) });
    expectThat(send.status === 200, `POST /sandbox/send answered ${send.status}: ${await send.text()}`);
    const echoed = await until(async () => {
      const history = (await (await fetch(`${url}/sandbox/history`)).json()) as { chats: { chat_id: number; messages: { side: string; text: string }[] }[] };
      return history.chats.find((c) => c.chat_id === 4242)?.messages.find((m) => m.side === "bot")?.text;
    }, "the echo of the message sent through the sandbox");

    const exitCode = await container.stop("SIGTERM", 15_000);
    const output = container.output();
    container = undefined;
    expectThat(exitCode === 0, `SIGTERM to PID 1 ended it with ${exitCode}, not 0; output:\n${output}`);
    const after = await runOnce({ ...spec, argv: probe });
    expectThat(after.code === 1, `the HEALTHCHECK passed (${after.code}) with nothing serving: ${after.stdout}${after.stderr}`);

    const databasePath = join(root, config.env.DATABASE_PATH ?? "");
    expectThat(existsSync(databasePath), `no database at DATABASE_PATH=${config.env.DATABASE_PATH} after the run`);
    const db = new Database(databasePath, { readonly: true });
    const migrations = (db.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number }).n;
    db.close();
    const owner = statSync(databasePath);
    log(`check-image: the entrypoint ran as ${status.uid}:${status.gid}, PID ${status.pidInside} of its namespace; served /healthz, echoed a message, passed the HEALTHCHECK and stopped on SIGTERM with exit 0`);
    return {
      root: imageRoot ? "podman" : "folder",
      podman,
      podmanSkipped,
      version,
      config,
      layout,
      run: {
        ...status,
        health,
        healthcheck: { code: inside.code, stdout: inside.stdout },
        echoed,
        exitCode,
        healthcheckAfterStop: { code: after.code, stderr: after.stderr },
        migrations,
        databaseOwner: `${owner.uid}:${owner.gid}`,
      },
    };
  } finally {
    container?.kill();
    if (built) removeImage(tag);
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== "--podman" && a !== "--no-podman") || args.length > 1) {
    process.stderr.write("usage: bun scripts/check-image.ts [--podman | --no-podman]   (as root)\n");
    process.exit(2);
  }
  try {
    const report = await checkImage(args[0] === "--podman" ? { podman: true } : args[0] === "--no-podman" ? { podman: false } : {});
    if (report.podmanSkipped) process.stdout.write(`podman not used: ${report.podmanSkipped}\n`);
    process.stdout.write(`${JSON.stringify({ ok: true, root: report.root, version: report.version, run: report.run }, null, 2)}\n`);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
