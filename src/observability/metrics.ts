/**
 * timbre's Prometheus metrics, kept and rendered by prom-client: timbre's own series (the Metrics
 * fields and the gauges added with `gauge()`) beside prom-client's default process and runtime
 * series (process_*, nodejs_eventloop_lag_*, nodejs_heap_*, nodejs_gc_duration_seconds), which
 * ready-made dashboards expect.
 */
import type * as Prom from "prom-client";

// prom-client's index also loads its Pushgateway (http, https: about 12 MB of memory): only the parts used.
const Registry: typeof Prom.Registry = require("prom-client/lib/registry");
const PromCounter: typeof Prom.Counter = require("prom-client/lib/counter");
const PromGauge: typeof Prom.Gauge = require("prom-client/lib/gauge");
const Histogram: typeof Prom.Histogram = require("prom-client/lib/histogram");
const collectDefaultMetrics: typeof Prom.collectDefaultMetrics = require("prom-client/lib/defaultMetrics");

type Labels = Record<string, string>;

/** One series: its labels and its value. */
export interface Series {
  labels: Labels;
  value: number;
}

/** The same key for the same labels in any order; "" for none. Built without sorting when the names come in order (the usual case: one label). */
function labelKey(labels: Labels | undefined): string {
  let key = "";
  let last = "";
  for (const name in labels) {
    if (name < last) return Object.keys(labels).sort().map((n) => `${n}\u0000${labels[n]}\u0001`).join("");
    last = name;
    key += `${name}\u0000${labels[name]}\u0001`;
  }
  return key;
}

/**
 * A prom-client metric whose label names may grow. prom-client fixes them when a metric is made,
 * while timbre's callers name their labels where they count (`inc({ reason: "429" })`); a label
 * name not seen before remakes the metric with it, once per new name.
 */
class GrowingLabels<M> {
  private readonly names: string[];
  private metric: M;
  constructor(
    private readonly registry: Prom.Registry,
    private readonly name: string,
    private readonly make: (labelNames: string[]) => M,
    labelNames: readonly string[],
  ) {
    this.names = [...labelNames];
    this.metric = make(this.names);
  }

  /** The metric that takes these label sets, made anew (its values gone) when they name a label it lacks. */
  metricFor(labelSets: Labels[]): M {
    let fresh = false;
    for (const labels of labelSets) {
      for (const name in labels) {
        if (this.names.includes(name)) continue;
        this.names.push(name);
        fresh = true;
      }
    }
    if (!fresh) return this.metric;
    this.registry.removeSingleMetric(this.name);
    this.metric = this.make(this.names);
    return this.metric;
  }
}

/**
 * A counter: its totals are kept here, where `inc` costs a map lookup (it runs several times per
 * update), and handed to prom-client when a scrape collects them.
 */
export class Counter {
  private readonly prom: GrowingLabels<Prom.Counter>;
  private readonly totals = new Map<string, Series>();

  constructor(registry: Prom.Registry, name: string, help: string, labelNames: readonly string[] = []) {
    const totals = this.totals;
    const collect = function (this: Prom.Counter) {
      this.reset();
      for (const { labels, value } of totals.values()) this.inc(labels, value);
    };
    this.prom = new GrowingLabels(registry, name, (names) => new PromCounter({ name, help, labelNames: names, registers: [registry], collect }), labelNames);
  }

  inc(labels?: Labels, by = 1): void {
    const key = labelKey(labels);
    const total = this.totals.get(key);
    if (total) {
      total.value += by;
      return;
    }
    this.totals.set(key, { labels: { ...labels }, value: by });
    // A label name not seen before remakes the prom-client counter with it (once per new name).
    this.prom.metricFor([labels ?? {}]);
  }

  get(labels?: Labels): number {
    return this.totals.get(labelKey(labels))?.value ?? 0;
  }
}

/** A gauge whose series are read from `read` at each scrape (e.g. counts from the database). */
class ScrapedGauge {
  private readonly prom: GrowingLabels<Prom.Gauge>;
  constructor(
    registry: Prom.Registry,
    name: string,
    help: string,
    private readonly read: () => Series[] | Promise<Series[]>,
  ) {
    this.prom = new GrowingLabels(registry, name, (names) => new PromGauge({ name, help, labelNames: names, registers: [registry] }), []);
  }

  async refresh(): Promise<void> {
    let samples: Series[];
    try {
      samples = (await this.read()).filter((sample) => Number.isFinite(sample.value));
    } catch {
      // A failing source (the database mid-fault) leaves this gauge empty; the scrape still answers.
      samples = [];
    }
    const metric = this.prom.metricFor(samples.map((sample) => sample.labels));
    metric.reset();
    // reset() leaves a label-free gauge at 0; only what `read` gave is shown.
    metric.remove({});
    for (const { labels, value } of samples) metric.set(labels, value);
  }
}

let processRegistry: Prom.Registry | undefined;

/**
 * prom-client's default series describe the process, so a process has one set of them however
 * many services it runs (tests run several). Made on first use: the event-loop monitor and the
 * GC observer start with the first Metrics.
 */
function processMetrics(): Prom.Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class Metrics {
  /** The Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  static readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  private readonly registry = new Registry();
  private readonly gauges: ScrapedGauge[] = [];

  readonly updatesReceived = this.counter("timbre_updates_received_total", "Updates stored for the first time (webhook or polling).");
  readonly updatesDuplicate = this.counter("timbre_updates_duplicate_total", "Updates whose update_id was already stored (not processed again).");
  readonly updatesProcessed = this.counter("timbre_updates_processed_total", "Updates handled to the end (status done).");
  readonly updatesFailed = this.counter("timbre_updates_failed_total", "Updates whose handling failed (status failed).");
  readonly webhookRejected = this.counter("timbre_webhook_rejected_total", "Webhook requests refused, by HTTP status.", ["status"]);
  readonly webhookLatency = new Histogram({
    name: "timbre_webhook_latency_seconds",
    help: "Time from a webhook request's arrival to its answer, including the durable commit.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  readonly outboxSent = this.counter("timbre_outbox_sent_total", "Messages delivered to Telegram.");
  readonly outboxFailed = this.counter("timbre_outbox_failed_total", "Messages given up on (4xx or too many attempts).");
  readonly outboxRetries = this.counter("timbre_outbox_retries_total", "Send attempts that will be retried, by reason.", ["reason"]);
  readonly botApiCalls = this.counter("timbre_bot_api_calls_total", "Bot API calls by method and outcome (ok, error, network).", ["method", "outcome"]);
  readonly llmCalls = this.counter("timbre_llm_calls_total", "Chat-completions attempts of the llm agent by outcome (ok, retried, error, timeout, cancelled).", ["outcome"]);
  readonly llmTokens = this.counter("timbre_llm_tokens_total", "Tokens the model API reported in usage, by kind (prompt, completion).", ["kind"]);

  constructor() {
    processMetrics();
  }

  /**
   * Adds a counter: one field line like those above. `labelNames` are the labels its `inc()`
   * carries, listed so the family is shown before the first count; a label `inc()` names that is
   * not listed is added then.
   */
  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return new Counter(this.registry, name, help, labelNames);
  }

  /** Adds a gauge read at scrape time (queue depths, run counts); its labels are whatever `read` gives. */
  gauge(name: string, help: string, read: () => Series[] | Promise<Series[]>): void {
    this.gauges.push(new ScrapedGauge(this.registry, name, help, read));
  }

  /** The Prometheus text of timbre's series and the process's (prom-client renders asynchronously). */
  async render(): Promise<string> {
    await Promise.all(this.gauges.map((gauge) => gauge.refresh()));
    return Registry.merge([processMetrics(), this.registry]).metrics();
  }
}
