// The runtime's store (src/runtime/run-store.ts, and its PostgreSQL twin pg-run-store.ts): the
// same operations give the same rows on both engines.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { pgRunStore } from "../../src/runtime/pg-run-store.ts";
import { prepareRunStore, type RunStore } from "../../src/runtime/run-store.ts";
import { ENGINES, openEngine, type Engine } from "./engines.ts";
import { newRun } from "./new-run.ts";

for (const engineName of ENGINES) {
  describe(`run store on ${engineName}`, () => {
    let engine: Engine;
    let store: RunStore;
    beforeAll(async () => {
      engine = await openEngine(engineName, "run-store");
      store = engine.sqlite ? prepareRunStore(engine.sqlite.sqlite) : pgRunStore(engine.postgres!.session);
    });
    afterAll(() => engine.close());


    test("a new run is active until it ends; its row reads back with every column, numbers as numbers", async () => {
      const run = await engine.transaction(() => store.insertRun(newRun("c1", 100), 1_000));
      expect(run).toEqual({
        id: run.id,
        conversation: "c1",
        chatId: 42,
        userId: 7,
        agent: "coach",
        agentVersion: "v1",
        status: "running",
        triggerUpdateId: 100,
        trigger: '{"update_id":100}',
        error: null,
        memoryBefore: null,
        createdAt: 1_000,
        updatedAt: 1_000,
        endedAt: null,
      });
      expect(typeof run.id).toBe("number");
      expect(await engine.run(store.activeRun("c1"))).toEqual(run);
      expect(await engine.run(store.runById(run.id))).toEqual(run);
      await engine.run(store.setRunStatus(run.id, "waiting", 2_000));
      expect((await engine.run(store.runsWithStatus("waiting"))).map((r) => r.id)).toEqual([run.id]);
      expect(await engine.run(store.activeConversations())).toEqual(["c1"]);
      expect(await engine.run(store.endRun(run.id, "failed", "boom", 3_000))).toBe(true);
      // A second end (a cancel racing the run's own end) changes nothing: the first end stands.
      expect(await engine.run(store.endRun(run.id, "cancelled", null, 3_500))).toBe(false);
      expect(await engine.run(store.activeRun("c1"))).toBeUndefined();
      expect(await engine.run(store.activeConversations())).toEqual([]);
      expect(await engine.run(store.runById(run.id))).toMatchObject({ status: "failed", error: "boom", updatedAt: 3_000, endedAt: 3_000 });
      expect(await engine.run(store.runById(run.id + 1000))).toBeUndefined();
    });

    test("routing state: whether the update is still received, with its conversation's active run", async () => {
      const insertUpdate = (id: number, status: string) =>
        engine.query(`INSERT INTO updates (update_id, chat_id, kind, payload, status, received_at, updated_at) VALUES ($1, 42, 'message', '{}', $2, 1, 1)`, [id, status]);
      await insertUpdate(900, "received");
      await insertUpdate(901, "done");
      expect(await engine.run(store.routingState(900, "c9"))).toEqual({ received: true, active: undefined });
      const run = await engine.run(store.insertRun(newRun("c9", 900), 1_000));
      expect(await engine.run(store.routingState(900, "c9"))).toEqual({ received: true, active: run });
      expect(await engine.run(store.routingState(901, "c9"))).toEqual({ received: false, active: run });
      expect(await engine.run(store.routingState(902, "c9"))).toEqual({ received: false, active: run });
      await engine.run(store.endRun(run.id, "done", null, 2_000));
      expect(await engine.run(store.routingState(900, "c9"))).toEqual({ received: true, active: undefined });
    });

    test("a step's record replaces its retrying one, and only that: another entry's position is never overwritten", async () => {
      const run = await engine.run(store.insertRun(newRun("c3", 300), 1_000));
      const step = { runId: run.id, seq: 0, kind: "step", text: "charge", startedAt: 1_010 } as const;
      await engine.run(store.recordStep({ ...step, state: "retrying", attempts: 1, error: "declined", deadlineAt: 2_000, finishedAt: null }, 1_020));
      await engine.run(store.recordStep({ ...step, state: "retrying", attempts: 2, error: "declined again", deadlineAt: 4_000, finishedAt: null }, 2_020));
      expect(await engine.run(store.journal(run.id))).toEqual([
        { seq: 0, kind: "step", key: "charge", state: "retrying", result: null, answer: null, error: "declined again", attempts: 2, deadlineAt: 4_000, createdAt: 1_010 },
      ]);
      await engine.run(store.recordStep({ ...step, state: "done", result: "7", attempts: 3 }, 4_050));
      expect(await engine.run(store.stepAt(run.id, 0))).toMatchObject({ state: "done", result: "7", error: null, attempts: 3, deadlineAt: null, createdAt: 1_010, answeredAt: 4_050 });
      // Done now: a second record for the position is refused, and changes nothing.
      await expect(engine.run(store.recordStep({ ...step, state: "failed", error: "late", attempts: 4 }, 5_000))).rejects.toThrow("journal position 0 is already taken");
      expect(await engine.run(store.stepAt(run.id, 0))).toMatchObject({ state: "done", result: "7" });
    });

    test("the journal reads back in order; a waiting step settles once", async () => {
      const run = await engine.run(store.insertRun(newRun("c2", 200), 1_000));
      await engine.run(store.insertStep({ runId: run.id, seq: 1, kind: "ask", text: "Goal?", state: "waiting", deadlineAt: 9_000, choices: '["a","b"]', finishedAt: null }, 1_100));
      await engine.run(store.insertStep({ runId: run.id, seq: 0, kind: "step", text: "lookup", state: "done", result: '{"n":1}', attempts: 2, startedAt: 1_050 }, 1_090));
      expect(await engine.run(store.journal(run.id))).toEqual([
        { seq: 0, kind: "step", key: "lookup", state: "done", result: '{"n":1}', answer: null, error: null, attempts: 2, deadlineAt: null, createdAt: 1_050 },
        { seq: 1, kind: "ask", key: "Goal?", state: "waiting", result: null, answer: null, error: null, attempts: null, deadlineAt: 9_000, createdAt: 1_100 },
      ]);
      expect(await engine.run(store.stepAt(run.id, 0))).toMatchObject({ createdAt: 1_050, answeredAt: 1_090 });
      expect(await engine.run(store.pendingQuestion(run.id))).toMatchObject({ seq: 1, deadlineAt: 9_000, choices: '["a","b"]', answeredAt: null });
      expect(await engine.run(store.settleStep(run.id, 1, "answered", 2_000, { text: "a", updateId: 201 }))).toBe(true);
      expect(await engine.run(store.settleStep(run.id, 1, "timed_out", 2_500))).toBe(false);
      expect(await engine.run(store.stepAt(run.id, 1))).toMatchObject({ state: "answered", answer: "a", answerUpdateId: 201, answeredAt: 2_000 });
      expect(await engine.run(store.pendingQuestion(run.id))).toBeUndefined();
      expect((await engine.run(store.steps(run.id))).map((s) => s.seq)).toEqual([0, 1]);
    });

    test("deadlines: the earliest waiting one, and those due by a time, earliest first", async () => {
      const run = await engine.run(store.insertRun(newRun("c3", 300), 1_000));
      for (const [seq, at] of [
        [0, 5_000],
        [1, 3_000],
        [2, 4_000],
      ] as const) {
        await engine.run(store.insertStep({ runId: run.id, seq, kind: seq === 2 ? "sleep" : "ask", text: `q${seq}`, state: "waiting", deadlineAt: at, finishedAt: null }, 1_000));
      }
      expect(await engine.run(store.nextDeadline())).toBe(3_000);
      expect(await engine.run(store.dueSteps(4_500, 10))).toEqual([
        { runId: run.id, seq: 1, kind: "ask", chatId: 42 },
        { runId: run.id, seq: 2, kind: "sleep", chatId: 42 },
      ]);
      expect(await engine.run(store.dueSteps(9_000, 1))).toEqual([{ runId: run.id, seq: 1, kind: "ask", chatId: 42 }]);
      expect((await engine.run(store.activeRunsOfChat(42))).map((r) => r.id)).toContain(run.id);
      expect(await engine.run(store.activeRunsOfChat(43))).toEqual([]);
      await engine.run(store.cancelWaitingSteps(run.id));
      expect(await engine.run(store.dueSteps(9_000, 10))).toEqual([]);
    });

    test("memory: written over per conversation; a run keeps the memory it started with only once", async () => {
      expect(await engine.run(store.memory("m1"))).toBeUndefined();
      await engine.run(store.setMemory("m1", '{"a":1}', 1_000));
      await engine.run(store.setMemory("m1", '{"a":2}', 2_000));
      expect(await engine.run(store.memory("m1"))).toBe('{"a":2}');
      const run = await engine.run(store.insertRun(newRun("m1", 400), 1_000));
      await engine.run(store.keepMemoryBefore(run.id, '{"value":{"a":2}}'));
      await engine.run(store.keepMemoryBefore(run.id, '{"value":"later"}'));
      expect((await engine.run(store.runById(run.id)))!.memoryBefore).toBe('{"value":{"a":2}}');
    });

    test("parked updates: oldest first per conversation, each once", async () => {
      await engine.run(store.park(503, "p1", 1_000));
      await engine.run(store.park(501, "p1", 1_001));
      await engine.run(store.park(501, "p1", 1_002));
      await engine.run(store.park(502, "p2", 1_003));
      expect((await engine.run(store.parkedConversations())).sort()).toEqual(["p1", "p2"]);
      expect(await engine.run(store.nextParked("p1"))).toEqual({ updateId: 501, conversation: "p1", createdAt: 1_001 });
      await engine.run(store.unpark(501));
      expect((await engine.run(store.nextParked("p1")))!.updateId).toBe(503);
      await engine.run(store.unpark(503));
      expect(await engine.run(store.nextParked("p1"))).toBeUndefined();
    });

    test("a transaction that throws leaves nothing behind", async () => {
      await expect(
        engine.transaction(function* () {
          yield* store.park(600, "t1", 1_000);
          throw new Error("changed its mind");
        }),
      ).rejects.toThrow("changed its mind");
      expect(await engine.run(store.nextParked("t1"))).toBeUndefined();
    });
  });
}
