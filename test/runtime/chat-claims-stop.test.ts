// A stopping instance takes no chats over: a claim that was in flight when it began to stop hands
// its chats back at once instead of resuming them on a pool about to close (which logged an error
// per chat at every stop of an instance under load, while the others handed their chats over).
import { expect, test } from "bun:test";
import type { Clock } from "../../src/clock.ts";
import { silentLogger } from "../../src/observability/log.ts";
import { ChatClaims, type ChatClaimsDeps } from "../../src/runtime/chat-claims.ts";

/** The parts adopting touches, recording what was asked of them; the rest is never reached here. */
function recordingDeps() {
  const calls: string[] = [];
  const record = (what: string) => async (...args: unknown[]) => void calls.push(`${what} ${JSON.stringify(args)}`);
  const clock: Clock = { now: () => 1_000, setTimeout: () => ({ cancel() {} }) };
  const deps = {
    chats: { release: record("release") },
    outbox: { adopt: record("outbox.adopt") },
    runtime: { adopt: record("runtime.adopt") },
    inbox: { loadReceivedOfChats: async (...args: unknown[]) => (calls.push(`load ${JSON.stringify(args)}`), []) },
    dispatcher: { enqueue: () => {}, handedOver: () => [] },
    clock,
    log: silentLogger,
  } as unknown as ChatClaimsDeps;
  return { deps, calls };
}

test("a running instance resumes the chats it takes over", async () => {
  const { deps, calls } = recordingDeps();
  await new ChatClaims(deps).adopt([7]);
  expect(calls).toEqual(["outbox.adopt [7]", "runtime.adopt [7]", "load [[7],[]]"]);
});

test("once stopping, chats it took are handed back at once, nothing of them resumed", async () => {
  const { deps, calls } = recordingDeps();
  const claims = new ChatClaims(deps);
  await claims.stop();
  await claims.adopt([7, 8]);
  expect(calls).toEqual(["release [[7,8]]"]);
});
