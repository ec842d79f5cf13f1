import type { TransactionSql } from "postgres";
import type { Clock } from "../clock.ts";
import { awaited, type Op } from "../db/op.ts";
import { LeaseKeeper } from "../db/pg/lease-keeper.ts";
import { fencedAll, LeaseLostError, lockedTokens, type Leases } from "../db/pg/leases.ts";
import type { PgSession } from "../db/pg/session.ts";
import type { ChatScope } from "./chat-scope.ts";

/** A chat's lease name; updates with no chat share one. */
export function chatLease(chatId: number | null): string {
  return `chat:${chatId ?? "none"}`;
}

function chatOf(lease: string): number | null | undefined {
  if (!lease.startsWith("chat:")) return undefined;
  const rest = lease.slice(5);
  if (rest === "none") return null;
  const id = Number(rest);
  return Number.isSafeInteger(id) ? id : undefined;
}

export interface LeasedChatsOptions {
  session: PgSession;
  leases: Leases;
  holder: string;
  ttlMs: number;
  clock: Clock;
  /** Chats taken over: load and resume their work. */
  onAcquired(chatIds: (number | null)[]): void;
  /** Chats lost: stop working on them at once (nothing more may be written for them). */
  onLost(chatIds: (number | null)[]): void;
  onError(error: unknown): void;
}

/** The chats this instance holds leases for (PostgreSQL), kept alive by a LeaseKeeper. */
export class LeasedChats implements ChatScope {
  private readonly keeper: LeaseKeeper;
  private readonly held = new Set<number | null>();
  readonly shared = true;

  constructor(private readonly options: LeasedChatsOptions) {
    this.keeper = new LeaseKeeper({
      leases: options.leases,
      holder: options.holder,
      ttlMs: options.ttlMs,
      clock: options.clock,
      onLost: (names) => this.lost(names),
      onError: options.onError,
    });
  }

  start(): void {
    this.keeper.start();
  }

  owns(chatId: number | null): boolean {
    return this.held.has(chatId) && this.keeper.token(chatLease(chatId)) !== undefined;
  }

  owned(): readonly number[] {
    return [...this.held].filter((chatId): chatId is number => chatId !== null);
  }

  fence(chatId: number | null): Op<void> {
    return this.fenceAll([chatId]);
  }

  *fenceAll(chatIds: Iterable<number | null>): Op<void> {
    const { session } = this.options;
    const ahead = session.fencedAhead;
    const tokens = new Map<string, number>();
    for (const chatId of chatIds) {
      const name = chatLease(chatId);
      const token = this.keeper.token(name);
      if (token === undefined) throw new LeaseLostError(name, 0, undefined);
      // Fenced at the top of this transaction with the same token: its row is locked until the end.
      if (ahead?.get(name) !== token) tokens.set(name, token);
    }
    if (tokens.size === 0) return;
    if (!session.inTransaction) throw new Error(`a write for ${[...tokens.keys()].join(", ")} outside a transaction cannot be fenced`);
    yield* awaited(fencedAll(session.client as TransactionSql, tokens));
  }

  *fenceAhead(chatIds: Iterable<number | null>): Op<void> {
    const { session } = this.options;
    const ahead = session.fencedAhead;
    // Inside a savepoint a rollback to it would drop the locks: each write fences for itself then.
    if (!ahead || session.inSavepoint) return;
    const tokens = new Map<string, number>();
    for (const chatId of chatIds) {
      const name = chatLease(chatId);
      const token = this.keeper.token(name);
      if (token !== undefined && ahead.get(name) !== token) tokens.set(name, token);
    }
    if (tokens.size === 0) return;
    const current = yield* awaited(lockedTokens(session.client as TransactionSql, tokens.keys()));
    for (const [name, token] of tokens) if (current.get(name) === token) ahead.set(name, token);
  }

  /** Takes those of the chats no live lease holds; reports the new ones through onAcquired. */
  async claim(chatIds: Iterable<number | null>): Promise<(number | null)[]> {
    const wanted = [...new Set(chatIds)].filter((chatId) => !this.held.has(chatId));
    if (wanted.length === 0) return [];
    const got = await this.keeper.takeMany(wanted.map(chatLease));
    const acquired = wanted.filter((chatId) => got.has(chatLease(chatId)) && !this.held.has(chatId));
    for (const chatId of acquired) this.held.add(chatId);
    if (acquired.length > 0) this.options.onAcquired(acquired);
    return acquired;
  }

  async hold(chatId: number | null): Promise<boolean> {
    if (!this.held.has(chatId)) await this.claim([chatId]);
    return this.held.has(chatId);
  }

  /** Lets chats go (idle: nothing queued or running here); another instance may take them at once. */
  async release(chatIds: (number | null)[]): Promise<void> {
    for (const chatId of chatIds) this.held.delete(chatId);
    await this.keeper.release(chatIds.map(chatLease));
  }

  /** Releases every lease (a clean stop): the other instances take the chats over at once. */
  async stop(): Promise<void> {
    this.held.clear();
    await this.keeper.stop();
  }

  private lost(names: string[]): void {
    const chats: (number | null)[] = [];
    for (const name of names) {
      const chatId = chatOf(name);
      if (chatId === undefined || !this.held.delete(chatId)) continue;
      chats.push(chatId);
    }
    if (chats.length > 0) this.options.onLost(chats);
  }
}
