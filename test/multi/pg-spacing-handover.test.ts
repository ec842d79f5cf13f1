// Per-chat spacing holds for the bot as a whole: a chat taken over (here after a clean stop) waits
// out the interval after the last message its previous holder sent (the next one went out at once).
import { afterAll, expect, test } from "bun:test";
import { loadConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { startPgService, type PgService } from "../../src/pg-app.ts";
import { postUpdate, serviceEnv, startEmulator, textUpdate, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser } from "../runtime/support.ts";

const { emulator, apiUrl } = startEmulator();
const services: PgService[] = [];
afterAll(async () => {
  for (const service of services) await service.stop().catch(() => {});
  emulator.stop();
});

test("SEND_RATE_PER_CHAT=0.25: the instance that takes a chat over sends its next message 4 s after the previous holder's last", async () => {
  const url = await freshDatabase("spacing_handover");
  const env = serviceEnv(emulator, apiUrl, "/nonexistent/unused.db", { DATABASE_URL: url, AGENT: "echo", SEND_RATE_PER_CHAT: "0.25", SEND_RATE_GLOBAL: "1000" });
  delete (env as Record<string, string | undefined>).DATABASE_PATH;
  const a = await startPgService(loadConfig(env), { logger: silentLogger });
  services.push(a);
  const b = await startPgService(loadConfig(env), { logger: silentLogger });
  services.push(b);
  const user = newUser("Spaced");
  const sends = () => emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === user.id);

  expect((await postUpdate(a.url, textUpdate(user, "one", 7_200_001))).status).toBe(200);
  expect((await postUpdate(a.url, textUpdate(user, "two", 7_200_002))).status).toBe(200);
  await waitFor(() => sends().length === 1, "the first echo");
  // "two" waits out its spacing on A; A stops cleanly and B takes the chat over.
  await a.stop();
  services.splice(services.indexOf(a), 1);
  await waitFor(() => sends().length === 2, "the second echo, from B", 15_000);
  const [first, second] = sends();
  expect(second!.params.text).toBe("two");
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(4000);
}, 40_000);
