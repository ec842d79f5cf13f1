import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../package.json";
import { ROOT, startEmulator, tempDir } from "./helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `bun src/main.ts ...args` with exactly `env` (nothing inherited but PATH and HOME). */
async function timbre(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args], {
    cwd: dir.path,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const telegram = (extra: Record<string, string> = {}) => ({
  TELEGRAM_BOT_TOKEN: emulator.token,
  TELEGRAM_API_URL: apiUrl,
  DATABASE_PATH: join(dir.path, "timbre.db"),
  ...extra,
});

function oneLine(text: string): void {
  expect(text.trim().split("\n")).toHaveLength(1);
}

describe("timbre --help and --version", () => {
  test("--help lists the commands and the environment, exit 0", async () => {
    const run = await timbre(["--help"]);
    expect(run.code).toBe(0);
    for (const word of ["webhook info", "webhook set", "webhook delete", "--drop-pending", "--url", "TELEGRAM_BOT_TOKEN", "BOT_MODE", "PUBLIC_URL", "ADMIN_TOKEN", "timbre ./bot.ts", "timbre types > timbre.d.ts", "the path of an agent module", "timbre migrate-to-postgres", "DATABASE_URL"]) {
      expect(run.stdout).toContain(word);
    }
  });

  test("--version prints the package version, exit 0", async () => {
    const run = await timbre(["--version"]);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toStartWith(`timbre ${pkg.version}`);
    expect(run.stdout.trim().split("\n")).toHaveLength(1);
  });

  test("types --help prints its usage, exit 0", async () => {
    const run = await timbre(["types", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("timbre types > timbre.d.ts");
  });

  test("migrate-to-postgres --help prints its usage, exit 0, with no environment needed", async () => {
    const run = await timbre(["migrate-to-postgres", "--help"], { AGENT: "./no-such-bot.ts" });
    expect(run.code).toBe(0);
    expect(run.stdout).toStartWith("usage: timbre migrate-to-postgres\n");
    expect(run.stdout).toContain("DATABASE_URL");
  });

  test("webhook --help prints the webhook usage, exit 0", async () => {
    const run = await timbre(["webhook", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("timbre webhook set [--url URL] [--drop-pending]");
  });
});

describe("usage errors: one line, exit 2", () => {
  const cases: [string[], string][] = [
    [["--bogus"], "--bogus"],
    [["serve-please"], "serve-please"],
    [["webhook"], "missing subcommand"],
    [["webhook", "list"], "list"],
    [["webhook", "info", "--url", "https://x.example"], "--url"],
    [["webhook", "delete", "--force"], "--force"],
    [["webhook", "set", "--url"], "--url needs a value"],
    [["types", "--out", "x.d.ts"], "takes no arguments"],
    [["migrate-to-postgres", "now"], "takes no arguments"],
    [["./bot.ts", "extra"], "after the agent module ./bot.ts"],
  ];
  for (const [args, mention] of cases) {
    test(`timbre ${args.join(" ")}`, async () => {
      const run = await timbre(args, telegram());
      expect(run.code).toBe(2);
      oneLine(run.stderr);
      expect(run.stderr).toContain(mention);
      expect(run.stdout).toBe("");
    });
  }

  test("webhook set without --url and without PUBLIC_URL", async () => {
    const run = await timbre(["webhook", "set"], telegram());
    expect(run.code).toBe(2);
    oneLine(run.stderr);
    expect(run.stderr).toContain("PUBLIC_URL");
  });
});

describe("in the sandbox (no TELEGRAM_BOT_TOKEN): one line, exit 1", () => {
  for (const args of [["webhook", "set", "--url", "https://bot.example.com/telegram/webhook"], ["webhook", "delete"]]) {
    test(`timbre ${args.join(" ")} says the sandbox owns its webhook`, async () => {
      const calls = emulator.calls.length;
      const run = await timbre(args, { DATABASE_PATH: join(dir.path, "sandbox.db") });
      expect(run.code).toBe(1);
      oneLine(run.stderr);
      expect(run.stderr).toStartWith(`timbre ${args.slice(0, 2).join(" ")}: TELEGRAM_BOT_TOKEN is not set`);
      expect(run.stderr).toContain("the sandbox owns its webhook");
      expect(run.stdout).toBe("");
      expect(emulator.calls.length).toBe(calls);
    });
  }

  test("timbre webhook info points at GET /admin/webhook of the running sandbox", async () => {
    const run = await timbre(["webhook", "info"], { DATABASE_PATH: join(dir.path, "sandbox.db") });
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("TELEGRAM_BOT_TOKEN is not set");
    expect(run.stderr).toContain("GET /admin/webhook");
  });
});

describe("talking to Telegram", () => {
  test("webhook set --url sets it with the secret the server uses (generated once, kept in the database), exit 0", async () => {
    const url = "https://bot.example.com/telegram/webhook";
    const run = await timbre(["webhook", "set", "--url", url], telegram({ MAX_CONNECTIONS: "12" }));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    oneLine(run.stdout);
    expect(run.stdout).toContain(url);
    const call = emulator.callsOf("setWebhook").at(-1)!;
    const db = new Database(join(dir.path, "timbre.db"), { readonly: true });
    const stored = db.query<{ value: string }, []>("SELECT value FROM settings WHERE key = 'webhook_secret'").get()?.value;
    db.close();
    expect(stored).toBeDefined();
    expect(call.params).toMatchObject({ url, secret_token: stored, max_connections: 12 });
    expect(call.params.drop_pending_updates).toBe(false);
  });

  test("webhook set without --url uses PUBLIC_URL; --drop-pending is passed on", async () => {
    const run = await timbre(["webhook", "set", "--drop-pending"], telegram({ PUBLIC_URL: "https://bot.example.com", WEBHOOK_SECRET: "cli-secret_1" }));
    expect(run.code).toBe(0);
    expect(emulator.callsOf("setWebhook").at(-1)!.params).toMatchObject({
      url: "https://bot.example.com/telegram/webhook",
      secret_token: "cli-secret_1",
      drop_pending_updates: true,
    });
  });

  test("webhook info prints Telegram's WebhookInfo as JSON, exit 0", async () => {
    const run = await timbre(["webhook", "info"], telegram());
    expect(run.code).toBe(0);
    const info = JSON.parse(run.stdout) as { url: string; pending_update_count: number };
    expect(info.url).toBe("https://bot.example.com/telegram/webhook");
    expect(typeof info.pending_update_count).toBe("number");
  });

  test("webhook delete [--drop-pending], exit 0", async () => {
    const keep = await timbre(["webhook", "delete"], telegram());
    expect(keep.code).toBe(0);
    expect(keep.stdout).toContain("pending updates kept");
    expect(String(emulator.callsOf("deleteWebhook").at(-1)!.params.drop_pending_updates)).toBe("false");
    const drop = await timbre(["webhook", "delete", "--drop-pending"], telegram());
    expect(drop.code).toBe(0);
    expect(String(emulator.callsOf("deleteWebhook").at(-1)!.params.drop_pending_updates)).toBe("true");
  });

  test("Telegram refusing: one line with its description, exit 1", async () => {
    const run = await timbre(["webhook", "set", "--url=ftp://bot.example.com/hook"], telegram());
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("HTTPS URL must be provided");
  });

  test("a refused token: one line, exit 1, the token never printed", async () => {
    const run = await timbre(["webhook", "info"], telegram({ TELEGRAM_BOT_TOKEN: "42:not-the-right-token" }));
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("401");
    expect(run.stderr).not.toContain("not-the-right-token");
  });

  test("Telegram unreachable: one line, exit 1", async () => {
    const run = await timbre(["webhook", "info"], telegram({ TELEGRAM_API_URL: "http://127.0.0.1:1" }));
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("could not reach Telegram");
  });

  test("an answer that is not a WebhookInfo ({ok:true, result:null}): one line saying so, exit 1", async () => {
    emulator.faults = { ...emulator.faults, methods: ["getWebhookInfo"], rawAnswers: [{ status: 200, body: '{"ok":true,"result":null}', contentType: "application/json" }] };
    const run = await timbre(["webhook", "info"], telegram());
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("Telegram's answer to getWebhookInfo could not be used: HTTP 200: ok, but its result is not a WebhookInfo object (result: null)");
  });

  test("a bad environment value: one line naming it, exit 1", async () => {
    const run = await timbre(["webhook", "info"], telegram({ MAX_CONNECTIONS: "500" }));
    expect(run.code).toBe(1);
    oneLine(run.stderr);
    expect(run.stderr).toContain("MAX_CONNECTIONS");
  });
});
