/**
 * A store operation: a generator that returns its result. Logic that reads and writes a store
 * (routing, the journal, the outbox's rows) is written once as `function*` over `yield*` of such
 * operations, and runs on either engine (docs/several-instances.md):
 * - SQLite's operations return without yielding, so `runSync` drives them with no promise and no
 *   microtask: a transaction stays one synchronous block, which no other code can join.
 * - PostgreSQL's operations yield their query's promise; `runAsync` awaits it and resumes the
 *   generator with the result (or throws the error into it).
 */
export type Op<T> = Generator<PromiseLike<unknown>, T, unknown>;

/** An operation that is only a value: what a synchronous store's methods return. */
// eslint-disable-next-line require-yield
export function* done<T>(value: T): Op<T> {
  return value;
}

/** An operation that waits on a promise: what an asynchronous store's methods return. */
export function* awaited<T>(promise: PromiseLike<T>): Op<T> {
  return (yield promise) as T;
}

/** The operation yielded: it was asynchronous, where only synchronous ones may run. */
export class AsyncOpError extends Error {
  override name = "AsyncOpError";
  constructor() {
    super("an asynchronous store operation was run synchronously (a PostgreSQL operation inside a SQLite transaction?)");
  }
}

/** Runs an operation of a synchronous store to its result. */
export function runSync<T>(op: Op<T>): T {
  const step = op.next();
  if (!step.done) {
    op.return(undefined as T);
    throw new AsyncOpError();
  }
  return step.value;
}

/** Runs an operation of an asynchronous store, awaiting each query it yields. */
export async function runAsync<T>(op: Op<T>): Promise<T> {
  return runEither(op);
}

/**
 * Runs an operation synchronously while it does not yield, so SQLite's operations give their
 * result at once, and asynchronously from its first query otherwise. For code that serves both
 * engines and must stay synchronous on SQLite (what it arms or queues before returning).
 */
export function runEither<T>(op: Op<T>): T | Promise<T> {
  const step = op.next();
  if (step.done) return step.value;
  return resumeAsync(op, step.value);
}

async function resumeAsync<T>(op: Op<T>, first: PromiseLike<unknown>): Promise<T> {
  let step: IteratorResult<PromiseLike<unknown>, T> = { done: false, value: first };
  while (!step.done) {
    let result: unknown;
    try {
      result = await step.value;
    } catch (error) {
      // A failed query is thrown into the operation, which may catch it.
      step = op.throw(error);
      continue;
    }
    step = op.next(result);
  }
  return step.value;
}
