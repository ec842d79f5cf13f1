// The same behaviour on both storage engines, through timbre's public faces (the webhook, the
// Bot API calls it makes, the admin API) with real processes: SQLite (DATABASE_PATH) and
// PostgreSQL (DATABASE_URL, a fresh database on the test cluster).
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { coachText } from "../../src/agents/coach.ts";
import { connectWebhook, postUpdate, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor, type SpawnedService } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser, Person } from "../runtime/support.ts";

const ADMIN = "behaviour-admin-token";

for (const engine of ["sqlite", "postgres"] as const) {
  describe(`on ${engine}`, () => {
    const { emulator, apiUrl } = startEmulator();
    const dir = tempDir();
    const children: SpawnedService[] = [];
    let database: Promise<Record<string, string>> | undefined;
    const databaseEnv = () =>
      (database ??= engine === "sqlite" ? Promise.resolve({ DATABASE_PATH: `${dir.path}/timbre.db` }) : freshDatabase("behaviour").then((url) => ({ DATABASE_URL: url })));
    afterAll(async () => {
      for (const child of children) if (child.proc.exitCode === null) await child.kill9();
      emulator.stop();
      dir.cleanup();
    });
    const spawn = async (extra: Record<string, string>) => {
      const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { ADMIN_TOKEN: ADMIN, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000", ...extra, ...(await databaseEnv()) });
      const child = await spawnService(env);
      children.push(child);
      await connectWebhook(emulator, child.url);
      return child;
    };
    const admin = (child: SpawnedService, path: string, init: RequestInit = {}) =>
      fetch(`${child.url}/admin${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN}`, ...(init.headers as Record<string, string> | undefined) } });

    test("echo: each update once, duplicates acknowledged and ignored, each chat's replies in order", async () => {
      const child = await spawn({ AGENT: "echo" });
      const users = Array.from({ length: 5 }, (_, i) => newUser(`Echo${i}`));
      const updates = users.flatMap((user, u) => Array.from({ length: 4 }, (_, n) => textUpdate(user, `${user.first_name} says ${n}`, 5_000_000 + u * 10 + n)));
      // Every update twice, the copies at the same time: Telegram retrying while the first is in flight.
      const answers = await Promise.all([...updates, ...updates].map((update) => postUpdate(child.url, update)));
      expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
      for (const user of users) {
        const expected = Array.from({ length: 4 }, (_, n) => `${user.first_name} says ${n}`);
        await waitFor(() => emulator.sentTo(user.id).length >= 4, `${user.first_name}'s echoes`).catch(async (error) => {
          const updates = (await (await admin(child, "/updates?limit=100")).json()) as { update_id: number; chat_id: number; status: string }[];
          const outbox = (await (await admin(child, "/outbox?limit=100")).json()) as { chat_id: number; status: string; text: string }[];
          throw new Error(`${error}\nsent: ${JSON.stringify(emulator.sentTo(user.id).map((m) => m.text))}\nupdates: ${JSON.stringify(updates.filter((u) => u.chat_id === user.id))}\noutbox: ${JSON.stringify(outbox.filter((o) => o.chat_id === user.id))}`);
        });
        expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(expected);
      }
      const stats = (await (await admin(child, "/stats")).json()) as { updates: Record<string, number>; outbox: Record<string, number> };
      expect(stats.updates.done).toBe(updates.length);
      await waitFor(async () => ((await (await admin(child, "/stats")).json()) as typeof stats).outbox.sent === updates.length, "every echo marked sent");
      expect((await fetch(`${child.url}/healthz`)).status).toBe(200);
      expect(await (await fetch(`${child.url}/metrics`)).text()).toContain(`timbre_updates{status="done"} ${updates.length}`);
      expect(await child.terminate()).toBe(0);
    }, 30_000);

    test("coach: a conversation waits on its question across kill -9, the answer finishes it, the admin API shows and cancels runs", async () => {
      const t = coachText.en;
      const first = await spawn({ AGENT: "coach" });
      const runner = new Person(emulator, newUser("Runner"));
      expect(await runner.say("hi")).toBe(t.goal);
      expect(await runner.say("run a 10k").catch((error) => { throw new Error(`${error}\n${first.output().split("\n").slice(-25).join("\n")}`); })).toBe(t.days);
      const waiting = (await (await admin(first, "/runs?status=waiting")).json()) as { id: number; chat_id: number; pending_question: { text: string } | null }[];
      expect(waiting.map((r) => [r.chat_id, r.pending_question?.text])).toEqual([[runner.chatId, t.days]]);
      // Killed while the run waits: its state is the database's alone.
      const sentTo = async (child: SpawnedService, chatId: number) =>
        ((await (await admin(child, "/outbox?status=sent")).json()) as { chat_id: number }[]).filter((row) => row.chat_id === chatId).length;
      await waitFor(async () => (await sentTo(first, runner.chatId)) === 2, "both questions marked sent");
      await first.kill9();

      const second = await spawn({ AGENT: "coach" });
      expect(await runner.say("3")).toBe(t.level);
      const plan = await runner.say("beginner");
      expect(plan.length).toBeGreaterThan(20);
      await waitFor(async () => ((await (await admin(second, "/runs")).json()) as { status: string }[])[0]?.status === "done", "the run done");
      const [done] = (await (await admin(second, "/runs")).json()) as { id: number }[];
      const detail = (await (await admin(second, `/runs/${done!.id}`)).json()) as { journal: { kind: string; state: string }[] };
      expect(detail.journal.filter((s) => s.kind === "ask").map((s) => s.state)).toEqual(["answered", "answered", "answered"]);
      // Nothing was said twice.
      expect(emulator.sentTo(runner.chatId).filter((m) => m.text === t.goal)).toHaveLength(1);

      // A new conversation, cancelled through the admin API while it waits.
      const quitter = new Person(emulator, newUser("Quitter"));
      expect(await quitter.say("hi")).toBe(t.goal);
      const [open] = (await (await admin(second, "/runs?status=waiting")).json()) as { id: number }[];
      expect((await admin(second, `/runs/${open!.id}/cancel`, { method: "POST" })).status).toBe(200);
      expect(await quitter.hear()).toContain("ancel");
      expect((await admin(second, `/runs/${open!.id}/cancel`, { method: "POST" })).status).toBe(409);
      expect(await second.terminate()).toBe(0);
    }, 45_000);

    test("GET /admin/runs?asking=true lists the runs waiting on a question, not those that sleep", async () => {
      const agent = `${dir.path}/ask-or-nap.ts`;
      writeFileSync(agent, `export default async (ctx) => { if (ctx.text === "nap") await ctx.sleep(3600); else await ctx.ask("which day?"); };\n`);
      const child = await spawn({ AGENT: agent });
      const asker = new Person(emulator, newUser("Asker"));
      const napper = new Person(emulator, newUser("Napper"));
      expect(await asker.say("plan")).toBe("which day?");
      const stats = async () => ((await (await admin(child, "/stats")).json()) as { runs: { waiting: number } }).runs.waiting;
      const before = await stats();
      expect((await postUpdate(child.url, textUpdate({ id: napper.chatId, first_name: "Napper" }, "nap", 5_100_001))).status).toBe(200);
      await waitFor(async () => (await stats()) === before + 1, "the nap to wait");
      const list = async (query: string) => ((await (await admin(child, `/runs?${query}`)).json()) as { chat_id: number; pending_question: { text: string } | null }[]).filter((r) => [asker.chatId, napper.chatId].includes(r.chat_id));
      expect((await list("status=waiting")).map((r) => r.chat_id)).toEqual([napper.chatId, asker.chatId]);
      expect((await list("asking=true")).map((r) => [r.chat_id, r.pending_question?.text])).toEqual([[asker.chatId, "which day?"]]);
      expect((await list("asking=false")).map((r) => r.chat_id)).toEqual([napper.chatId, asker.chatId]);
      const refused = await admin(child, "/runs?asking=yes");
      expect({ status: refused.status, body: await refused.json() }).toEqual({ status: 400, body: { ok: false, error: expect.stringContaining("asking must be true or false") } });
      await child.kill9();
    }, 45_000);
  });
}
