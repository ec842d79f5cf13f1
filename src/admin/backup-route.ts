import { Elysia, status, t } from "elysia";
import { BackupError } from "../db/backup.ts";
import { SECURITY, type NeedParts } from "./route-parts.ts";
import { BadRequest, NoQuery, Starting, Unauthorized, errorBody } from "./schemas.ts";

/** POST /admin/backup: an online copy of the database (mounted by adminRoutes, behind its token check). */
export function backupRoute(need: NeedParts) {
  return new Elysia({ name: "admin-backup" })
    .post(
      "/backup",
      ({ body }) => {
        const { backup } = need();
        if (!backup) return status(409, { ok: false as const, error: "timbre stores its data in PostgreSQL (DATABASE_URL): back it up with pg_dump (docs/deploy.md)" });
        try {
          const done = backup(body.path);
          return { ok: true as const, path: done.path, bytes: done.bytes, ms: done.ms };
        } catch (error) {
          if (!(error instanceof BackupError)) throw error;
          if (error.failure === "exists") return status(409, { ok: false as const, error: error.message });
          if (error.failure === "write") return status(500, { ok: false as const, error: error.message });
          return status(400, { ok: false as const, error: error.message });
        }
      },
      {
        query: NoQuery,
        body: t.Object(
          { path: t.String({ minLength: 1, description: "Path of the new backup file, absolute or relative to timbre's working directory; it must not exist." }) },
          { additionalProperties: false, example: { path: "/var/lib/timbre/backups/timbre-2024-06-01.db" } },
        ),
        response: {
          200: t.Object(
            { ok: t.Literal(true), path: t.String({ description: "Absolute path of the backup." }), bytes: t.Integer(), ms: t.Integer({ description: "How long the copy took." }) },
            { description: "The backup is written.", example: { ok: true, path: "/var/lib/timbre/backups/timbre-2024-06-01.db", bytes: 4096000, ms: 12 } },
          ),
          400: BadRequest,
          401: Unauthorized,
          409: errorBody("The file already exists (a backup never replaces one), or timbre stores its data in PostgreSQL (back it up with pg_dump).", "/var/lib/timbre/backups/timbre.db already exists; a backup never replaces a file: choose a new name or remove the old one"),
          500: errorBody("Writing the backup failed (disk full, permissions).", "could not write the backup to /backups/timbre.db: unable to open database: /backups/timbre.db"),
          503: Starting,
        },
        detail: {
          tags: ["maintenance"],
          summary: "Back up the database",
          description:
            "Writes a consistent copy of the SQLite database to a new file with `VACUUM INTO`, while timbre keeps serving (requests wait while it copies: about 3 ms per MB). Refuses to replace an existing file (409); missing folders are created. Same as `timbre backup PATH`. Copying timbre.db with cp while timbre runs is not safe.",
          security: SECURITY,
        },
      },
    );
}
