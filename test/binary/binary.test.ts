/**
 * The compiled executable, run from an empty folder with nothing beside it: it answers
 * --version/--help, migrates a new database, serves the echo bot against the emulator,
 * survives kill -9, backs up, holds its database against a second instance, and runs the
 * sandbox page and Swagger UI from inside itself.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import journal from "../../drizzle/meta/_journal.json";
import pkg from "../../package.json";
import { connectWebhook, postUntilStopped, postUpdate, runToExit, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor } from "../helpers.ts";
import { builtBinary, runBinary } from "./build.ts";

const { emulator, apiUrl } = startEmulator(7);
const dirs: { cleanup(): void }[] = [];
let binary: string;
let builtFrom: string;

/** A new empty folder: the binary is all there is. */
function emptyFolder(): string {
  const dir = tempDir("timbre-bin-run-");
  dirs.push(dir);
  return dir.path;
}

beforeAll(async () => {
  const built = await builtBinary();
  binary = built.outfile;
  builtFrom = built.commit;
});

afterAll(async () => {
  emulator.stop();
  for (const dir of dirs) dir.cleanup();
});

test("--version names the version and the commit the binary was built from; --help answers; both exit 0", () => {
  const cwd = emptyFolder();
  const version = runBinary(binary, ["--version"], cwd);
  expect(version.code).toBe(0);
  // The commit read from git at build time (a test run may race the lead's commits, so not re-read here).
  expect(builtFrom).toMatch(/^([0-9a-f]{7,40}(-dirty)?|unknown)$/);
  expect(version.stdout.trim()).toBe(`timbre ${pkg.version} (commit ${builtFrom})`);
  const help = runBinary(binary, ["--help"], cwd);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain("Usage:");
  expect(help.stdout).toContain("timbre backup PATH");
  expect(help.stdout).toContain("TELEGRAM_BOT_TOKEN");
  const wrong = runBinary(binary, ["--nope"], cwd);
  expect(wrong.code).toBe(2);
  expect(wrong.stderr).toContain("see timbre --help");
  // Nothing was written: answering a flag touches no database.
  expect(readdirSync(cwd)).toEqual([]);
});

test("a bad environment value stops the binary with one clear line and exit code 1", () => {
  const result = runBinary(binary, [], emptyFolder(), { BOT_MODE: "push" });
  expect(result.code).toBe(1);
  expect(result.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^timbre: BOT_MODE="push" is invalid: .*webhook.*polling/)]);
});

test("from an empty folder: migrates ./data/timbre.db, echoes through the webhook and the outbox", async () => {
  const cwd = emptyFolder();
  const env = serviceEnv(emulator, apiUrl, "./data/timbre.db", { AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const service = await spawnService(env, [binary], cwd);
  try {
    await connectWebhook(emulator, service.url);
    const user = { id: 7101, first_name: "Bin" };
    const text = "from the binary ✓ 🎉\nsecond line";
    emulator.sendText(user, text);
    const sent = await waitFor(() => emulator.sentTo(user.id)[0], "the echo from the binary");
    expect(sent.text).toBe(text);
  } finally {
    expect(await service.terminate()).toBe(0);
  }
  // The embedded migrations ran on the relative default path, resolved against the working directory.
  const db = new Database(join(cwd, "data/timbre.db"), { readonly: true });
  expect(db.query("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({ n: journal.entries.length });
  expect(db.query("SELECT status FROM updates").all()).toEqual([{ status: "done" }]);
  db.close();
});

test("kill -9 of the binary: every acknowledged update is echoed after a restart on the same folder", async () => {
  const cwd = emptyFolder();
  const env = serviceEnv(emulator, apiUrl, "./timbre.db", { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" });
  const first = await spawnService(env, [binary], cwd);
  const load = postUntilStopped(first.url, { clients: 8, chatBase: 7200, firstId: 1_000_000, text: (id) => `bin-k${id}` });
  const { acknowledged } = load;
  await waitFor(() => acknowledged.size >= 100, "100 acknowledged updates", 20_000);
  await first.kill9();
  await load.stop();

  const second = await spawnService(env, [binary], cwd);
  try {
    await waitFor(() => [...acknowledged].every((id) => emulator.messages.some((m) => m.text === `bin-k${id}`)), "every acknowledged update to be echoed", 30_000);
  } finally {
    expect(await second.terminate()).toBe(0);
  }
  const db = new Database(join(cwd, "timbre.db"), { readonly: true });
  for (const id of acknowledged) expect(db.query("SELECT status FROM updates WHERE update_id = ?").get(id)).toEqual({ status: "done" });
  expect(db.query("SELECT update_id FROM outbox GROUP BY update_id HAVING count(*) > 1").all()).toEqual([]);
  db.close();
});

test("timbre backup PATH writes a consistent copy and never replaces a file", async () => {
  const cwd = emptyFolder();
  const env = serviceEnv(emulator, apiUrl, "./timbre.db", { AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  const service = await spawnService(env, [binary], cwd);
  try {
    for (let i = 0; i < 5; i++) expect((await postUpdate(service.url, textUpdate({ id: 7300, first_name: "B" }, `backup ${i}`, 2_000_000 + i))).status).toBe(200);
    // While the service runs: the backup is online.
    const made = runBinary(binary, ["backup", "backups/one.db"], cwd, { DATABASE_PATH: "./timbre.db" });
    expect(made.stderr).toBe("");
    expect(made.code).toBe(0);
    const answer = JSON.parse(made.stdout) as { ok: boolean; path: string; bytes: number };
    expect(answer).toMatchObject({ ok: true, path: join(cwd, "backups/one.db") });
    expect(answer.bytes).toBeGreaterThan(0);
    const again = runBinary(binary, ["backup", "backups/one.db"], cwd, { DATABASE_PATH: "./timbre.db" });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    expect(runBinary(binary, ["backup"], cwd).code).toBe(2);
  } finally {
    expect(await service.terminate()).toBe(0);
  }
  const copy = new Database(join(cwd, "backups/one.db"), { readonly: true });
  expect(copy.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
  expect(copy.query("SELECT count(*) AS n FROM updates WHERE update_id >= 2000000").get()).toEqual({ n: 5 });
  copy.close();
});

test("sandbox mode from an empty folder: the chat page, its round trip to the agent, and Swagger UI, all from inside the binary", async () => {
  const cwd = emptyFolder();
  const service = await spawnService({ HOST: "127.0.0.1", PORT: "0", AGENT: "echo", LOG_LEVEL: "warn" }, [binary], cwd);
  try {
    const health = await fetch(`${service.url}/healthz`);
    expect(await health.json()).toMatchObject({ status: "ok", sandbox: true });

    const page = await fetch(`${service.url}/sandbox`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) expect((await fetch(`${service.url}${asset}`)).status, asset).toBe(200);

    const user = { id: 7400, first_name: "Sandy" };
    const send = await fetch(`${service.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user, text: "hello sandbox" }) });
    expect(send.status).toBe(200);
    await waitFor(async () => {
      const history = (await (await fetch(`${service.url}/sandbox/history`)).json()) as { chats: { chat_id: number; messages: { side: string; text: string }[] }[] };
      return history.chats.find((c) => c.chat_id === user.id)?.messages.some((m) => m.side === "bot" && m.text === "hello sandbox");
    }, "the echo in the sandbox history");

    const swagger = await fetch(`${service.url}/swagger`);
    expect(swagger.status).toBe(200);
    const swaggerHtml = await swagger.text();
    expect(swaggerHtml).not.toMatch(/https?:\/\//);
    for (const asset of [...swaggerHtml.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)) {
      const response = await fetch(`${service.url}${asset}`);
      expect(response.status, asset).toBe(200);
      if (asset.endsWith("bundle.js")) expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(500_000);
    }
    const spec = (await (await fetch(`${service.url}/swagger/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toContain("/admin/stats");
  } finally {
    expect(await service.terminate()).toBe(0);
  }
  expect(existsSync(join(cwd, "data/timbre.db"))).toBe(true);
});

test("one database, one instance: a second binary on the held database exits 1 naming DATABASE_PATH and the pid; after kill -9 one starts at once", async () => {
  const cwd = emptyFolder();
  const env = { HOST: "127.0.0.1", PORT: "0", AGENT: "echo", LOG_LEVEL: "warn" };
  const first = await spawnService(env, [binary], cwd);
  let next: Awaited<ReturnType<typeof spawnService>> | undefined;
  try {
    const second = await runToExit(env, [binary], cwd);
    expect(second.code).toBe(1);
    expect(second.stderr.trim().split("\n")).toEqual([
      `timbre: DATABASE_PATH=${JSON.stringify(join(cwd, "data/timbre.db"))} is in use by another timbre (pid ${first.proc.pid}): one database serves one instance; stop that one first or give this one its own DATABASE_PATH`,
    ]);
    await first.kill9();
    next = await spawnService(env, [binary], cwd);
    expect((await fetch(`${next.url}/healthz`)).status).toBe(200);
  } finally {
    if (first.proc.exitCode === null) await first.kill9();
    if (next) expect(await next.terminate()).toBe(0);
  }
});
