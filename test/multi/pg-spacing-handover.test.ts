// Per-chat spacing holds for the bot as a whole: a chat taken over (here after a clean stop) waits
// out the interval after the last message its previous holder sent (the next one went out at once).
import { expect, test } from "bun:test";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { newUser } from "../runtime/support.ts";
import { pgInProcessRig } from "./pg-in-process.ts";

const rig = pgInProcessRig();
const { emulator } = rig;

test("SEND_RATE_PER_CHAT=0.25: the instance that takes a chat over sends its next message 4 s after the previous holder's last", async () => {
  const url = await freshDatabase("spacing_handover");
  const env = { AGENT: "echo", SEND_RATE_PER_CHAT: "0.25", SEND_RATE_GLOBAL: "1000" };
  const a = await rig.start(url, env);
  await rig.start(url, env);
  const user = newUser("Spaced");
  const sends = () => emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === user.id);

  expect((await postUpdate(a.url, textUpdate(user, "one", 7_200_001))).status).toBe(200);
  expect((await postUpdate(a.url, textUpdate(user, "two", 7_200_002))).status).toBe(200);
  await waitFor(() => sends().length === 1, "the first echo");
  // "two" waits out its spacing on A; A stops cleanly and B takes the chat over.
  await a.stop();
  rig.stopped(a);
  await waitFor(() => sends().length === 2, "the second echo, from B", 15_000);
  const [first, second] = sends();
  expect(second!.params.text).toBe("two");
  expect(second!.at - first!.at).toBeGreaterThanOrEqual(4000);
}, 40_000);
