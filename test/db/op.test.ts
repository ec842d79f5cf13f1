import { expect, test } from "bun:test";
import { AsyncOpError, awaited, done, runAsync, runEither, runSync, type Op } from "../../src/db/op.ts";

// One piece of logic over a store whose operations are either plain values or promises.
interface Counter {
  read(): Op<number>;
  write(value: number): Op<void>;
}

function* incrementTwice(store: Counter): Op<number> {
  const first = yield* store.read();
  yield* store.write(first + 1);
  const second = yield* store.read();
  yield* store.write(second + 1);
  return second + 1;
}

function syncCounter(): Counter & { value: number } {
  const counter = { value: 1, read: () => done(counter.value), write: (v: number) => done(void (counter.value = v)) };
  return counter;
}

function asyncCounter(failOn?: number): Counter & { value: number } {
  const counter = {
    value: 1,
    read: () => awaited(Promise.resolve(counter.value)),
    write: (v: number) => awaited(v === failOn ? Promise.reject(new Error(`refused ${v}`)) : Promise.resolve(void (counter.value = v))),
  };
  return counter;
}

test("runSync runs a synchronous store's logic to its result without a microtask", () => {
  const store = syncCounter();
  let microtaskRan = false;
  queueMicrotask(() => (microtaskRan = true));
  expect(runSync(incrementTwice(store))).toBe(3);
  expect(store.value).toBe(3);
  expect(microtaskRan).toBe(false);
});

test("runAsync runs the same logic over an asynchronous store", async () => {
  const store = asyncCounter();
  expect(await runAsync(incrementTwice(store))).toBe(3);
  expect(store.value).toBe(3);
});

test("runAsync throws a failed query into the logic, where it can be caught", async () => {
  const store = asyncCounter(2);
  await expect(runAsync(incrementTwice(store))).rejects.toThrow("refused 2");
  expect(store.value).toBe(1);
  function* recovering(): Op<string> {
    try {
      yield* store.write(2);
      return "written";
    } catch (error) {
      return `caught: ${(error as Error).message}`;
    }
  }
  expect(await runAsync(recovering())).toBe("caught: refused 2");
});

test("runSync refuses an asynchronous operation instead of dropping its promise", () => {
  expect(() => runSync(incrementTwice(asyncCounter()))).toThrow(AsyncOpError);
});

test("runEither gives a synchronous store's result at once and an asynchronous one's as a promise", async () => {
  expect(runEither(incrementTwice(syncCounter()))).toBe(3);
  const pending = runEither(incrementTwice(asyncCounter()));
  expect(pending).toBeInstanceOf(Promise);
  expect(await pending).toBe(3);
});
