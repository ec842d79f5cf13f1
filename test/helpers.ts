/** Shared test helpers: real emulator, real servers on port 0, real SQLite files, real child processes. */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startService, type Service, type ServiceOptions } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { UPDATE_TYPES } from "../src/ingest/update-types.ts";
import { silentLogger } from "../src/observability/log.ts";
import { BotApiEmulator, type EmulatedUser } from "../src/sandbox/emulator.ts";
import { removeAtEndOfRun } from "./end-of-run.ts";

export const ROOT = join(import.meta.dir, "..");
export const TEST_SECRET = "test-secret_0123456789abcdefghijklmnop";

/** Polls `check` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await Bun.sleep(everyMs);
  }
}

/** A new folder in the temp folder; `cleanup` removes it, and so does the end of the run when a failure skipped that. */
export function tempDir(prefix = "timbre-test-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  removeAtEndOfRun(path);
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export function startEmulator(seed = 42): { emulator: BotApiEmulator; apiUrl: string } {
  const emulator = new BotApiEmulator({ seed });
  emulator.webhookRetryBaseMs = 100;
  return { emulator, apiUrl: emulator.listen() };
}

/** The environment for a service that talks to `apiUrl` as Telegram, on port 0, with a file database. */
export function serviceEnv(emulator: BotApiEmulator, apiUrl: string, databasePath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    TELEGRAM_BOT_TOKEN: emulator.token,
    TELEGRAM_API_URL: apiUrl,
    DATABASE_PATH: databasePath,
    HOST: "127.0.0.1",
    PORT: "0",
    WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
    ...extra,
  };
}

/** Starts the service in this process (fast); use spawnService for crash tests. */
export async function startInProcess(env: Record<string, string>, options: ServiceOptions = {}): Promise<Service> {
  return startService(loadConfig(env), { logger: silentLogger, backoffBaseMs: 50, backoffCapMs: 400, ...options });
}

/** Points the emulator's webhook at a running service, as setWebhook would. */
export async function connectWebhook(emulator: BotApiEmulator, serviceUrl: string, secret = TEST_SECRET): Promise<void> {
  const response = await emulator.fetch(
    new Request(`http://emulator/bot${emulator.token}/setWebhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // Every update type: tests push any kind through the emulator (Telegram's default would leave out chat_member and reactions).
      body: JSON.stringify({ url: `${serviceUrl}/telegram/webhook`, secret_token: secret, max_connections: 40, allowed_updates: UPDATE_TYPES }),
    }),
  );
  if (!response.ok) throw new Error(`setWebhook failed: ${await response.text()}`);
}

export function postUpdate(serviceUrl: string, body: unknown, secret: string | null = TEST_SECRET, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers["x-telegram-bot-api-secret-token"] = secret;
  return fetch(`${serviceUrl}/telegram/webhook`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
    headers: { ...headers, ...(init.headers as Record<string, string> | undefined) },
  });
}

/**
 * Webhook load for crash tests: `clients` loops, each posting text updates in its own chat
 * (`chatBase` + client) with ids from `firstId` on, until stopped or the service is gone.
 * `acknowledged` holds every id answered 200; `stop()` ends the loops and waits for them.
 */
export function postUntilStopped(
  serviceUrl: string,
  load: { clients: number; chatBase: number; firstId: number; text: (id: number) => string },
): { acknowledged: Set<number>; stop(): Promise<void> } {
  const acknowledged = new Set<number>();
  let nextId = load.firstId;
  let stopped = false;
  const clients = Array.from({ length: load.clients }, async (_, client) => {
    while (!stopped) {
      const id = nextId++;
      try {
        const response = await postUpdate(serviceUrl, textUpdate({ id: load.chatBase + client, first_name: "K" }, load.text(id), id));
        if (response.status === 200) acknowledged.add(id);
      } catch {
        return; // connection refused or reset: the process is gone
      }
    }
  });
  return {
    acknowledged,
    async stop() {
      stopped = true;
      await Promise.all(clients);
    },
  };
}

let nextUpdateId = 1;
/** A text message update from `user` in their private chat. */
export function textUpdate(user: EmulatedUser, text: string, updateId = nextUpdateId++): Record<string, unknown> {
  return {
    update_id: updateId,
    message: { message_id: updateId, from: { is_bot: false, ...user }, chat: { id: user.id, type: "private", first_name: user.first_name }, date: 1_700_000_000, text },
  };
}

export interface SpawnedService {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  output(): string;
  /** kill -9: no cleanup of any kind. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  terminate(): Promise<number | null>;
}

/** Runs `cmd` (default: bun src/main.ts) as a child process and waits until it serves /healthz. */
export async function spawnService(env: Record<string, string>, cmd: string[] = [process.execPath, join(ROOT, "src/main.ts")], cwd = ROOT): Promise<SpawnedService> {
  // The start line ("timbre is serving") is logged at info.
  const childEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env, LOG_LEVEL: env.LOG_LEVEL === "debug" ? "debug" : "info" };
  const proc = Bun.spawn(cmd, { cwd, env: childEnv, stdout: "pipe", stderr: "pipe" });
  let out = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) out += decoder.decode(chunk);
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const url = await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`service exited with ${proc.exitCode}: ${out}`);
    const match = /"msg":"timbre is serving","url":"([^"]+)"/.exec(out);
    return match?.[1];
  }, "the service to start", 20_000).catch((error) => {
    proc.kill(9);
    throw error;
  });
  return {
    proc,
    url,
    output: () => out,
    async kill9() {
      proc.kill(9);
      await proc.exited;
    },
    async terminate() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

export async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/healthz`)).ok;
  } catch {
    return false;
  }
}

export type { Service };

/** The emulator as Telegram and a temp folder for one test file; `release` runs first at its end. */
function rig(release: () => Promise<void>) {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  afterAll(async () => {
    await release();
    emulator.stop();
    dir.cleanup();
  });
  return { emulator, apiUrl, dir, dbPath: `${dir.path}/timbre.db` };
}

/**
 * The emulator as Telegram, a temp folder, and the in-process services a test file starts
 * there (push them on `services`); all stopped and removed after the file.
 */
export function serviceRig() {
  const services: Service[] = [];
  const base = rig(async () => {
    for (const service of services) await service.stop();
  });
  return {
    ...base,
    services,
    /** Starts a service on `dbPath` with the emulator's webhook pointed at it; one started before is stopped first (one database, one instance). */
    async start(extra: Record<string, string>, options: ServiceOptions = {}): Promise<Service> {
      for (const earlier of services.splice(0)) await earlier.stop();
      const service = await startInProcess(serviceEnv(base.emulator, base.apiUrl, base.dbPath, extra), options);
      services.push(service);
      await connectWebhook(base.emulator, service.url);
      return service;
    },
  };
}

/**
 * What a crash test needs: the emulator as Telegram, a temp folder with the database path, and
 * `spawn` to start service processes with the webhook pointed at each; everything is killed
 * and removed after the file.
 */
export function crashRig() {
  const children: SpawnedService[] = [];
  const base = rig(async () => {
    for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  });
  return {
    ...base,
    /** `webhook: false` for tests that post updates themselves instead of through the emulator. */
    async spawn(env: Record<string, string>, cmd?: string[], { webhook = true } = {}): Promise<SpawnedService> {
      const child = await spawnService(env, cmd);
      children.push(child);
      if (webhook) await connectWebhook(base.emulator, child.url);
      return child;
    },
  };
}

/** Runs `cmd` (default: bun src/main.ts) with exactly `env` (plus PATH/HOME) until it exits; for starts that must fail. */
export async function runToExit(env: Record<string, string>, cmd: string[] = [process.execPath, join(ROOT, "src/main.ts")], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(cmd, { cwd, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}
