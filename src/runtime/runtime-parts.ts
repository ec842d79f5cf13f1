import type { Op } from "../db/op.ts";
import type { UpdateStatus } from "../db/schema.ts";
import type { StoredUpdate } from "../ingest/inbox.ts";
import type { Outbox } from "../telegram/outbox.ts";
import type { AnyOutboxRows } from "../telegram/outbox-rows.ts";

/** What the runtime needs of the inbox (either engine's): reads and status writes inside its transactions. */
export interface RunInbox {
  read(updateId: number): Op<StoredUpdate | undefined>;
  /** True while the update is stored and not yet routed. */
  isReceived(updateId: number): Op<boolean>;
  writeStatus(updateIds: number | number[], status: UpdateStatus, error?: string | null): Op<void>;
}

/** The outbox on either engine, as the runtime uses it (it stores through enqueueOp inside its transactions). */
export type RunOutbox = Pick<Outbox<AnyOutboxRows>, "enqueueOp" | "typing" | "answerCallbackQuery">;
