/** timbre's counters: labels named where they count, one series per label set in any order, totals handed to prom-client at each scrape. */
import { expect, test } from "bun:test";
import { parsePrometheusText, sampleValue } from "./prom-text.ts";

test("a counter added without label names takes labels where it counts, as before prom-client", async () => {
  const { Metrics } = await import("../../src/observability/metrics.ts");
  const metrics = new Metrics();
  const calls = metrics.counter("timbre_test_calls_total", "Calls of a test counter, by outcome.");
  calls.inc();
  calls.inc({ outcome: "ok" });
  calls.inc({ outcome: "ok" });
  calls.inc({ outcome: "error" }, 3);
  // A second label name later keeps the totals counted so far.
  calls.inc({ outcome: "error", kind: "prompt" });
  // The same labels named in another order are the same series.
  calls.inc({ kind: "prompt", outcome: "error" });
  expect(calls.get({ outcome: "ok" })).toBe(2);
  expect(calls.get({ kind: "prompt", outcome: "error" })).toBe(2);
  const family = parsePrometheusText(await metrics.render()).get("timbre_test_calls_total")!;
  expect(family.type).toBe("counter");
  expect(family.samples.map(({ labels, value }) => ({ labels, value }))).toEqual([
    { labels: {}, value: 1 },
    { labels: { outcome: "ok" }, value: 2 },
    { labels: { outcome: "error" }, value: 3 },
    { labels: { outcome: "error", kind: "prompt" }, value: 2 },
  ]);
  // A scrape hands prom-client the totals; a second scrape after more counts shows the new totals.
  calls.inc({ outcome: "ok" });
  expect(sampleValue(parsePrometheusText(await metrics.render()), "timbre_test_calls_total", { outcome: "ok" })).toBe(3);
  // Declared label names show the family before anything is counted.
  metrics.counter("timbre_test_tokens_total", "Tokens of a test counter, by kind.", ["kind"]);
  expect(parsePrometheusText(await metrics.render()).get("timbre_test_tokens_total")).toMatchObject({ type: "counter", samples: [] });
});
