import { createHash } from "node:crypto";

/** A generated migrations module's exports (src/db/migrations.generated.ts, src/db/pg/migrations.generated.ts). */
export interface EmbeddedMigrationSet {
  journal: { entries: { tag: string; when: number; breakpoints: boolean }[] };
  files: { tag: string; sql: string }[];
}

/** The list drizzle's folder migrator builds (readMigrationFiles), from migrations embedded at build time. */
export function embeddedMigrations({ journal, files }: EmbeddedMigrationSet) {
  return journal.entries.map((entry) => {
    const file = files.find((f) => f.tag === entry.tag);
    if (!file) throw new Error(`migration ${entry.tag} is in the journal but not embedded; run bun run db:generate`);
    return {
      sql: file.sql.split("--> statement-breakpoint"),
      bps: entry.breakpoints,
      folderMillis: entry.when,
      hash: createHash("sha256").update(file.sql).digest("hex"),
    };
  });
}
