// `timbre replay-check` with DATABASE_URL checks the runs stored in PostgreSQL, over a read-only
// connection (it used to look only at DATABASE_PATH and exit 1 when no SQLite file was there).
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { connectWebhook, ROOT, runToExit, spawnService, startEmulator, tempDir, TEST_SECRET, waitFor, type SpawnedService } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser, Person, surveyModule } from "../runtime/support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  emulator.stop();
  dir.cleanup();
});

test("timbre replay-check with DATABASE_URL checks the waiting runs stored in PostgreSQL", async () => {
  writeFileSync(join(dir.path, "bot.ts"), surveyModule("city?"));
  writeFileSync(join(dir.path, "bot-next.ts"), surveyModule("which city?"));
  const databaseUrl = await freshDatabase("audit_replay_check", { migrated: true });
  const env = {
    TELEGRAM_BOT_TOKEN: emulator.token,
    TELEGRAM_API_URL: apiUrl,
    DATABASE_URL: databaseUrl,
    WEBHOOK_SECRET: TEST_SECRET,
    HOST: "127.0.0.1",
    PORT: "0",
    SEND_RATE_PER_CHAT: "1000",
    SEND_RATE_GLOBAL: "1000",
  };
  const service = await spawnService({ ...env, AGENT: join(dir.path, "bot.ts") }, [process.execPath, join(ROOT, "src/main.ts")], dir.path);
  children.push(service);
  await connectWebhook(emulator, service.url);
  const person = new Person(emulator, newUser("Checked"));
  expect(await person.say("go")).toBe("name?");
  expect(await person.say("Ana")).toBe("hello Ana");
  expect(await person.hear()).toBe("city?");
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let runId: number;
  try {
    runId = await waitFor(async () => {
      const rows = await sql<{ id: string }[]>`SELECT id FROM runs WHERE status = 'waiting'`;
      return rows.length === 1 ? Number(rows[0]!.id) : undefined;
    }, "the run to wait on its second question");
  } finally {
    await sql.end();
  }

  const check = (agent: string) => runToExit({ ...env, AGENT: agent }, [process.execPath, join(ROOT, "src/main.ts"), "replay-check"], dir.path);

  const same = await check("./bot.ts");
  expect({ code: same.code, stderr: same.stderr }).toMatchObject({ code: 0 });
  expect(same.stderr).toContain("1 running or waiting run checked");

  const changed = await check("./bot-next.ts");
  expect(changed.code).toBe(1);
  expect(changed.stdout).toContain(`run ${runId} (conversation ${person.chatId}`);
  expect(await service.terminate()).toBe(0);
}, 60_000);
