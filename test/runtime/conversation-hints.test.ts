// The runtime's hints (src/runtime/conversation-hints.ts): routing an idle conversation asks no
// query for its active run, and the hint never hides a run that is active in the table.
import { afterEach, beforeEach, expect, test } from "bun:test";
import { BatchedTransactions } from "../../src/db/batched-transactions.ts";
import { runSync, type Op } from "../../src/db/op.ts";
import { ConversationHints } from "../../src/runtime/conversation-hints.ts";
import { prepareRunStore, type RunStore } from "../../src/runtime/run-store.ts";
import { openEngine, type Engine } from "../stores/engines.ts";
import { newRun } from "../stores/new-run.ts";

let engine: Engine;
let store: RunStore;
/** Conversations whose active run was asked of the table. */
let asked: string[];

beforeEach(async () => {
  engine = await openEngine("sqlite", "conversation-hints");
  const plain = prepareRunStore(engine.sqlite!.sqlite);
  asked = [];
  store = {
    ...plain,
    activeRun: (conversation) => {
      asked.push(conversation);
      return plain.activeRun(conversation);
    },
  };
});
afterEach(() => engine.close());

const sync = <T>(op: Op<T>): T => runSync(op);

test("an idle conversation is answered without a query; one whose run starts here is asked until the run ends", () => {
  const hints = new ConversationHints(store, false);
  expect(sync(hints.store.activeRun("c1"))).toBeUndefined();
  expect(asked).toEqual([]);

  const run = sync(hints.store.insertRun(newRun("c1", 1), 1_000));
  expect(sync(hints.store.activeRun("c1"))?.id).toBe(run.id);
  expect(asked).toEqual(["c1"]);

  sync(store.endRun(run.id, "done", null, 2_000));
  expect(sync(hints.store.activeRun("c1"))).toBeUndefined();
  expect(sync(hints.store.activeRun("c1"))).toBeUndefined();
  // Asked once more (the run had ended), then no more.
  expect(asked).toEqual(["c1", "c1"]);
});

test("runs left active by an earlier process are found: the hint loads from the table", () => {
  const waiting = sync(store.insertRun(newRun("c2", 2), 1_000));
  sync(store.setRunStatus(waiting.id, "waiting", 1_000));
  const hints = new ConversationHints(store, false);
  expect(sync(hints.store.activeRun("c2"))?.id).toBe(waiting.id);
  expect(sync(hints.store.activeRun("c3"))).toBeUndefined();
  expect(asked).toEqual(["c2"]);
});

test("a write that ends a run and throws after finding none: the next write of the same commit still finds the run", async () => {
  const run = sync(store.insertRun(newRun("c4", 4), 1_000));
  const hints = new ConversationHints(store, false);
  const batched = new BatchedTransactions(engine.sqlite!.sqlite, () => hints.reload());
  const results = await Promise.allSettled([
    batched.run(function* () {
      yield* store.endRun(run.id, "done", null, 2_000);
      if (yield* hints.store.activeRun("c4")) throw new Error("the run ended in this write");
      throw new Error("changed its mind");
    }),
    batched.run(() => hints.store.activeRun("c4")),
  ]);
  expect(results[0]).toMatchObject({ status: "rejected", reason: { message: "changed its mind" } });
  expect(results[1]).toMatchObject({ status: "fulfilled", value: { id: run.id, status: "running" } });
  expect(batched.commits).toBe(1);
});

test("shared (several instances): every conversation asks the table", () => {
  const hints = new ConversationHints(store, true);
  expect(sync(hints.store.activeRun("c5"))).toBeUndefined();
  expect(sync(hints.store.activeRun("c5"))).toBeUndefined();
  expect(asked).toEqual(["c5", "c5"]);
});
