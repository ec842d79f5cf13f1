/**
 * A small Prometheus registry: counters with labels, gauges read at scrape time, and one
 * histogram type. Enough for timbre's handful of series without a dependency.
 */

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${labels[k]!.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",");
}

function series(name: string, key: string, value: number): string {
  return `${name}${key ? `{${key}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(series(this.name, "", 0));
    for (const [key, value] of this.values) lines.push(series(this.name, key, value));
    return lines;
  }
}

/** A gauge (or an outside counter) whose values are read when scraped (e.g. counts from the database). */
export class Gauge {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => { labels: Labels; value: number }[],
    /** "counter" for a total kept elsewhere (CPU seconds) that is only read here. */
    private readonly type: "gauge" | "counter" = "gauge",
  ) {}
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    let values: { labels: Labels; value: number }[];
    try {
      values = this.read();
    } catch {
      // A failing source (the database mid-fault) leaves this gauge empty; the scrape still answers.
      values = [];
    }
    for (const { labels, value } of values) lines.push(series(this.name, labelKey(labels), value));
    return lines;
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count++;
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) this.counts[i]!++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((le, i) => lines.push(series(`${this.name}_bucket`, `le="${le}"`, this.counts[i]!)));
    lines.push(series(`${this.name}_bucket`, `le="+Inf"`, this.count));
    lines.push(series(`${this.name}_sum`, "", this.sum), series(`${this.name}_count`, "", this.count));
    return lines;
  }
}

type Metric = Counter | Gauge | Histogram;

export class Metrics {
  readonly updatesReceived = new Counter("timbre_updates_received_total", "Updates stored for the first time (webhook or polling).");
  readonly updatesDuplicate = new Counter("timbre_updates_duplicate_total", "Updates whose update_id was already stored (not processed again).");
  readonly updatesProcessed = new Counter("timbre_updates_processed_total", "Updates handled to the end (status done).");
  readonly updatesFailed = new Counter("timbre_updates_failed_total", "Updates whose handling failed (status failed).");
  readonly webhookRejected = new Counter("timbre_webhook_rejected_total", "Webhook requests refused, by HTTP status.");
  readonly webhookLatency = new Histogram(
    "timbre_webhook_latency_seconds",
    "Time from a webhook request's arrival to its answer, including the durable commit.",
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  );
  readonly outboxSent = new Counter("timbre_outbox_sent_total", "Messages delivered to Telegram.");
  readonly outboxFailed = new Counter("timbre_outbox_failed_total", "Messages given up on (4xx or too many attempts).");
  readonly outboxRetries = new Counter("timbre_outbox_retries_total", "Send attempts that will be retried, by reason.");
  readonly botApiCalls = new Counter("timbre_bot_api_calls_total", "Bot API calls by method and outcome (ok, error, network).");
  readonly llmCalls = new Counter("timbre_llm_calls_total", "Chat-completions attempts of the llm agent by outcome (ok, retried, error, timeout, cancelled).");
  readonly llmTokens = new Counter("timbre_llm_tokens_total", "Tokens the model API reported in usage, by kind (prompt, completion).");
  private readonly extra: Metric[] = [
    new Gauge("process_resident_memory_bytes", "Resident memory of the timbre process.", () => [{ labels: {}, value: process.memoryUsage.rss() }]),
    new Gauge("process_cpu_seconds_total", "CPU time used by the timbre process (user + system), in seconds.", () => {
      const { user, system } = process.cpuUsage();
      return [{ labels: {}, value: (user + system) / 1e6 }];
    }, "counter"),
    new Gauge("process_start_time_seconds", "When the timbre process started, in Unix seconds.", () => [{ labels: {}, value: Math.round(Date.now() / 1000 - process.uptime()) }]),
  ];

  /** Adds a gauge read at scrape time (queue depths, run counts). */
  gauge(name: string, help: string, read: () => { labels: Labels; value: number }[]): void {
    this.extra.push(new Gauge(name, help, read));
  }

  render(): string {
    const all: Metric[] = [
      this.updatesReceived,
      this.updatesDuplicate,
      this.updatesProcessed,
      this.updatesFailed,
      this.webhookRejected,
      this.webhookLatency,
      this.outboxSent,
      this.outboxFailed,
      this.outboxRetries,
      this.botApiCalls,
      this.llmCalls,
      this.llmTokens,
      ...this.extra,
    ];
    return all.flatMap((m) => m.render()).join("\n") + "\n";
  }
}
