import { describe, expect, test } from "bun:test";
import { AuthLimiter } from "../../src/admin/auth-limiter.ts";
import { checkAdminToken } from "../../src/admin/auth.ts";
import type { Clock } from "../../src/clock.ts";
import { serviceRig, serviceEnv, startInProcess, type Service } from "../helpers.ts";

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => ({ cancel() {} }),
    advance(ms: number) {
      now += ms;
    },
  };
}

const LIMITS = { maxFailures: 10, windowMs: 60_000, maxTracked: 100 };

describe("AuthLimiter", () => {
  test("10 failures within a minute, then 429 with Retry-After until the oldest failure leaves the window", () => {
    const clock = manualClock();
    const limiter = new AuthLimiter(clock, LIMITS);
    for (let i = 0; i < 10; i++) {
      expect(limiter.check("1.2.3.4")).toBeUndefined();
      limiter.record("1.2.3.4", false);
      clock.advance(1_000);
    }
    // First failure at t=0, now t=10 s: locked for 50 s more.
    const refusal = limiter.check("1.2.3.4")!;
    expect(refusal.status).toBe(429);
    expect(refusal.retryAfter).toBe(50);
    expect(refusal.error).toContain("ADMIN_TOKEN");
    clock.advance(49_000);
    expect(limiter.check("1.2.3.4")?.retryAfter).toBe(1);
    clock.advance(1_000);
    // The oldest failure left the window: one more attempt is allowed, and failing it locks again.
    expect(limiter.check("1.2.3.4")).toBeUndefined();
    limiter.record("1.2.3.4", false);
    expect(limiter.check("1.2.3.4")?.status).toBe(429);
  });

  test("addresses are counted apart; a success forgets the address's failures", () => {
    const clock = manualClock();
    const limiter = new AuthLimiter(clock, LIMITS);
    for (let i = 0; i < 9; i++) limiter.record("10.0.0.1", false);
    for (let i = 0; i < 10; i++) limiter.record("10.0.0.2", false);
    expect(limiter.check("10.0.0.1")).toBeUndefined();
    expect(limiter.check("10.0.0.2")?.status).toBe(429);
    limiter.record("10.0.0.1", true);
    for (let i = 0; i < 9; i++) limiter.record("10.0.0.1", false);
    expect(limiter.check("10.0.0.1")).toBeUndefined();
  });

  test("failures spread over more than the window never lock", () => {
    const clock = manualClock();
    const limiter = new AuthLimiter(clock, LIMITS);
    for (let i = 0; i < 100; i++) {
      expect(limiter.check("1.1.1.1")).toBeUndefined();
      limiter.record("1.1.1.1", false);
      clock.advance(6_100);
    }
  });

  test("memory stays bounded under a spray of addresses", () => {
    const clock = manualClock();
    const limiter = new AuthLimiter(clock, LIMITS);
    for (let i = 0; i < 1_000; i++) limiter.record(`10.0.${i >> 8}.${i & 255}`, false);
    expect(limiter.tracked).toBe(100);
    clock.advance(60_001);
    expect(limiter.check("10.0.3.231")).toBeUndefined();
    expect(limiter.tracked).toBe(99);
  });

  test("while locked out even the right token is refused (a guess cannot be confirmed)", () => {
    const clock = manualClock();
    const limiter = new AuthLimiter(clock, LIMITS);
    for (let i = 0; i < 10; i++) expect(checkAdminToken("right-token", `Bearer wrong-${i}`, "5.5.5.5", limiter)?.status).toBe(401);
    expect(checkAdminToken("right-token", "Bearer right-token", "5.5.5.5", limiter)?.status).toBe(429);
    expect(checkAdminToken("right-token", "Bearer right-token", "5.5.5.6", limiter)).toBeUndefined();
  });
});

describe("the admin API under brute force", () => {
  const { emulator, apiUrl, dir, services } = serviceRig();
  const start = async (extra: Record<string, string> = {}) => {
    const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/a${services.length}.db`, { ADMIN_TOKEN: "the-right-admin-token", ...extra }));
    services.push(service);
    return service;
  };
  const stats = (service: Service, token: string, headers: Record<string, string> = {}) =>
    fetch(`${service.url}/admin/stats`, { headers: { authorization: `Bearer ${token}`, ...headers } });

  test("the 11th wrong token in a minute gets 429 with Retry-After; then the right one does too", async () => {
    const service = await start();
    expect((await stats(service, "the-right-admin-token")).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await stats(service, `guess-${i}`)).status).toBe(401);
    const locked = await stats(service, "guess-10");
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect(Number(locked.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    const body = (await locked.json()) as { ok: boolean; error: string };
    expect(body.ok).toBe(false);
    expect(body.error).toContain("try again in");
    expect((await stats(service, "the-right-admin-token")).status).toBe(429);
    // Missing tokens count as wrong ones too, and other routes are not affected.
    expect((await fetch(`${service.url}/admin/runs`)).status).toBe(429);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  test("without TRUST_PROXY, changing X-Forwarded-For does not escape the lockout", async () => {
    const service = await start();
    for (let i = 0; i < 10; i++) await stats(service, `guess-${i}`, { "x-forwarded-for": `203.0.113.${i}` });
    expect((await stats(service, "the-right-admin-token", { "x-forwarded-for": "198.51.100.1" })).status).toBe(429);
  });

  test("with TRUST_PROXY, clients behind the proxy are counted by the address the proxy appended", async () => {
    const service = await start({ TRUST_PROXY: "on" });
    for (let i = 0; i < 10; i++) expect((await stats(service, `guess-${i}`, { "x-forwarded-for": "203.0.113.66" })).status).toBe(401);
    expect((await stats(service, "guess-10", { "x-forwarded-for": "203.0.113.66" })).status).toBe(429);
    // A forged left entry does not help the attacker; another client behind the proxy is not locked out.
    expect((await stats(service, "the-right-admin-token", { "x-forwarded-for": "198.51.100.1, 203.0.113.66" })).status).toBe(429);
    expect((await stats(service, "the-right-admin-token", { "x-forwarded-for": "198.51.100.1" })).status).toBe(200);
  });
});
