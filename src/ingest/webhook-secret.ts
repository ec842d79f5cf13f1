import { randomBytes } from "node:crypto";
import type { Db } from "../db/index.ts";
import { getSetting, setSetting } from "../db/settings.ts";

const KEY = "webhook_secret";

/** 43 characters of A-Z a-z 0-9 _ - (256 random bits), as Telegram's secret_token allows. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** WEBHOOK_SECRET when set; otherwise the one generated on the first start and kept in the database. */
export function resolveWebhookSecret(db: Db, configured: string | undefined): string {
  if (configured !== undefined) return configured;
  const stored = getSetting(db, KEY);
  if (stored !== undefined) return stored;
  const secret = generateSecret();
  setSetting(db, KEY, secret);
  return secret;
}
