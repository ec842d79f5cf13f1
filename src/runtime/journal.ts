import { ReplayMismatchError } from "./context.ts";

/** What a run did, as plain data: one entry per ctx call, in call order. */

export type EntryKind = "reply" | "ask" | "step" | "sleep" | "remember";
export type EntryState = "done" | "failed" | "retrying" | "waiting" | "answered" | "timed_out" | "cancelled";

export interface JournalEntry {
  seq: number;
  kind: EntryKind;
  /** What replay compares besides the kind: the reply or question text, the step's name. */
  key: string;
  state: EntryState;
  /** JSON: a step's result, a remembered value. */
  result: string | null;
  /** An answered question's answer. */
  answer: string | null;
  /** A failed step's last error message. */
  error: string | null;
  attempts: number | null;
  /** A retrying step's next attempt; a question's timeout, a sleep's end. */
  deadlineAt: number | null;
  /** When the entry began (a step's first attempt). */
  createdAt: number;
}

const describe = (kind: EntryKind, key: string) => (kind === "sleep" || kind === "remember" ? kind : `${kind} "${key.length > 60 ? `${key.slice(0, 60)}…` : key}"`);

/**
 * Walks a journal in step with a new execution: each ctx call takes the next position, and the
 * entry recorded there must have the same kind and key, else the code changed under the run.
 * Entries are found by their seq, not their place in the list: calls made together
 * (`Promise.all` of two steps) commit in any order, and a crash between the two commits leaves
 * the earlier position empty, which is then simply not recorded yet.
 */
export class JournalCursor {
  private position = 0;
  private readonly bySeq: Map<number, JournalEntry>;

  constructor(entries: readonly JournalEntry[]) {
    this.bySeq = new Map(entries.map((entry) => [entry.seq, entry]));
  }

  /** The position the next call takes, and the entry recorded there (undefined when none is). */
  next(kind: EntryKind, key: string): { seq: number; recorded: JournalEntry | undefined } {
    const seq = this.position++;
    const recorded = this.bySeq.get(seq);
    // The journal's text columns keep UTF-8: a lone surrogate (a title cut inside an emoji) is
    // stored as U+FFFD, so the key is compared as it was stored.
    if (recorded && (recorded.kind !== kind || recorded.key !== key.toWellFormed())) {
      throw new ReplayMismatchError(`step ${seq}: the journal has ${describe(recorded.kind, recorded.key)} but the agent now makes ${describe(kind, key)}`);
    }
    return { seq, recorded };
  }

  /** How many positions have been taken. */
  get taken(): number {
    return this.position;
  }

  /** Recorded entries no call has reached yet. */
  get remaining(): number {
    let count = 0;
    for (const seq of this.bySeq.keys()) if (seq >= this.position) count++;
    return count;
  }

  /** The mismatch of an execution that ended with entries still unreached. */
  unreached(): ReplayMismatchError {
    const next = [...this.bySeq.values()].filter((entry) => entry.seq >= this.position).sort((a, b) => a.seq - b.seq)[0]!;
    return new ReplayMismatchError(`step ${next.seq}: the journal has ${describe(next.kind, next.key)} but the agent now returns before it`);
  }
}
