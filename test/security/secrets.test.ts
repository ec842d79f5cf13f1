import { expect, test } from "bun:test";
import { checkAdminToken } from "../../src/admin/auth.ts";
import { secretsEqual } from "../../src/ingest/webhook.ts";

// Timing is not asserted here (tests measure behaviour, bench/ measures time): secretsEqual
// hashes both sides to 32 bytes and compares them with crypto.timingSafeEqual, so neither a
// matching prefix nor a length difference changes the work done on the expected secret.

test("secretsEqual: only the exact secret matches", () => {
  const secret = "s3cret_value-0123456789";
  expect(secretsEqual(secret, secret)).toBe(true);
  for (const wrong of ["", "s", secret.slice(0, -1), `${secret}x`, secret.toUpperCase(), ` ${secret}`, `${secret}\0`]) {
    expect(secretsEqual(wrong, secret)).toBe(false);
  }
  expect(secretsEqual(null, secret)).toBe(false);
  expect(secretsEqual(undefined, secret)).toBe(false);
  // A missing header is never equal, even to an empty expected value.
  expect(secretsEqual(null, "")).toBe(false);
  expect(secretsEqual("ünïcødé ✓", "ünïcødé ✓")).toBe(true);
  expect(secretsEqual("ünïcødé ✓", "unicode ✓")).toBe(false);
});

test("admin bearer check: the exact token only, scheme case-insensitive, nothing without ADMIN_TOKEN", () => {
  expect(checkAdminToken("tok-123456", "Bearer tok-123456", "p")).toBeUndefined();
  expect(checkAdminToken("tok-123456", "bearer tok-123456", "p")).toBeUndefined();
  expect(checkAdminToken("tok-123456", "Bearer tok-12345", "p")?.status).toBe(401);
  expect(checkAdminToken("tok-123456", "Basic tok-123456", "p")?.status).toBe(401);
  expect(checkAdminToken("tok-123456", "tok-123456", "p")?.status).toBe(401);
  expect(checkAdminToken("tok-123456", null, "p")?.error).toContain("ADMIN_TOKEN");
  expect(checkAdminToken(undefined, "Bearer anything", "p")?.error).toContain("set ADMIN_TOKEN");
});
