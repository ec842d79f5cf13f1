// Per-chat spacing holds across a restart: after kill -9, a chat's next queued message waits out
// the interval after the last one sent to it (it went out as soon as the new process started).
import { expect, test } from "bun:test";
import { crashRig, serviceEnv, waitFor } from "../helpers.ts";
import { newUser, readDb } from "./support.ts";

const { emulator, apiUrl, dbPath, spawn } = crashRig();

test("SEND_RATE_PER_CHAT=0.25: kill -9 once the first echo is recorded sent; after the restart the second goes out 4 s after the first", async () => {
  const env = serviceEnv(emulator, apiUrl, dbPath, { AGENT: "echo", SEND_RATE_PER_CHAT: "0.25", SEND_RATE_GLOBAL: "1000" });
  const user = newUser("Paced");
  const sends = () => emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === user.id);
  const first = await spawn(env);
  emulator.sendText(user, "one");
  emulator.sendText(user, "two");
  await waitFor(() => readDb<{ n: number }>(dbPath, "SELECT count(*) AS n FROM outbox WHERE status = 'sent'")[0]!.n === 1, "the first echo recorded sent");
  expect(sends()).toHaveLength(1);
  await first.kill9();
  await spawn(env);
  await waitFor(() => sends().length === 2, "the second echo after the restart", 15_000);
  const [one, two] = sends();
  expect(two!.params.text).toBe("two");
  expect(two!.at - one!.at).toBeGreaterThanOrEqual(4000);
}, 40_000);
