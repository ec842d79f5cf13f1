import { existsSync } from "node:fs";
import { loadAgent } from "../agents/load-agent.ts";
import { llmAgent } from "../agents/llm/agent.ts";
import { silentLogger, thrownMessage } from "../observability/log.ts";
import type { Config } from "../config.ts";
import { redactedUrl, openPostgres } from "../db/pg/index.ts";
import { PgSession } from "../db/pg/session.ts";
import type { Agent } from "../runtime/context.ts";
import { pgRunStore } from "../runtime/pg-run-store.ts";
import { problemLine, replayCheck, replayCheckRuns, type ReplayCheckResult } from "../runtime/replay-check.ts";

export const REPLAY_CHECK_USAGE = `usage: timbre replay-check [./bot.ts]
  Replays the journal of every running or waiting run in DATABASE_PATH (or DATABASE_URL)
  against AGENT (or the module given), read-only and beside a running timbre; prints one line per run that would not
  replay and exits 1 if there is any, else 0. Run it before deploying new agent code.
`;

/** `timbre replay-check`: exit 0 when every active run replays, 1 when one would not (or the check cannot run). */
export async function runReplayCheck(config: Config, io: { out(text: string): void; err(text: string): void }): Promise<number> {
  if (config.databaseUrl === undefined && !existsSync(config.databasePath)) {
    io.err(`timbre replay-check: DATABASE_PATH=${JSON.stringify(config.databasePath)} does not exist; point it at the database of the timbre you are about to update\n`);
    return 1;
  }
  // The check makes no model calls: recorded steps replay, and it stops where the journal ends.
  const loaded = await loadAgent(config.agent, { llm: () => llmAgent(config.llm!, { log: silentLogger }) });
  const where = config.databaseUrl !== undefined ? `DATABASE_URL=${JSON.stringify(redactedUrl(config.databaseUrl))}` : `DATABASE_PATH=${JSON.stringify(config.databasePath)}`;
  let result: ReplayCheckResult;
  try {
    result = config.databaseUrl !== undefined ? await checkPostgres(config.databaseUrl, loaded.agent) : await replayCheck(config.databasePath, loaded.agent);
  } catch (error) {
    const reason = thrownMessage(error);
    io.err(`timbre replay-check: cannot read the runs in ${where} (${reason}); start this timbre version on it once to migrate it\n`);
    return 1;
  }
  for (const problem of result.problems) io.out(`${problemLine(problem)}\n`);
  const verdict = result.problems.length === 0 ? "all replay" : `${result.problems.length} would not replay`;
  io.err(`timbre replay-check: ${result.checked} running or waiting run${result.checked === 1 ? "" : "s"} checked against ${loaded.name} ${loaded.version}: ${verdict}\n`);
  return result.problems.length === 0 ? 0 : 1;
}

/** The check on PostgreSQL: a read-only connection (no migrations: the running instances may be of another version). */
async function checkPostgres(url: string, agent: Agent): Promise<ReplayCheckResult> {
  const pg = await openPostgres(url, { readOnly: true, max: 2 });
  try {
    return await replayCheckRuns(pgRunStore(new PgSession(pg.sql)), agent);
  } finally {
    await pg.close();
  }
}
