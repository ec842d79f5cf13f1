/**
 * A strict reader of the Prometheus text exposition format (0.0.4), enough to check what
 * /metrics serves: it throws on any line a Prometheus server would reject or misread.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  // Prometheus reads values with Go's ParseFloat, which takes NaN in any case (prom-client writes "Nan").
  if (/^nan$/i.test(text)) return NaN;
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad sample value ${JSON.stringify(text)} in ${JSON.stringify(line)}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` -> labels; `rest` is what follows the closing brace. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`unterminated labels in ${JSON.stringify(line)}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in ${JSON.stringify(line)}`);
    if (name in labels) throw new Error(`label ${name} twice in ${JSON.stringify(line)}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in ${JSON.stringify(line)}`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      const c = text[j];
      if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[j + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`bad escape in label value in ${JSON.stringify(line)}`);
        j += 2;
        continue;
      }
      value += c;
      j++;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected , or } after a label in ${JSON.stringify(line)}`);
  }
}

/** The family a sample belongs to: histogram samples carry _bucket, _sum and _count suffixes. */
function familyOf(sampleName: string, families: Map<string, Family>): Family | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  const match = /^(.*)_(bucket|sum|count)$/.exec(sampleName);
  const base = match && families.get(match[1]!);
  return base && (base.type === "histogram" || base.type === "summary") ? base : undefined;
}

export function parsePrometheusText(text: string): Map<string, Family> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!match) continue; // a plain comment
      const [, kind, name, rest] = match as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${JSON.stringify(name)}`);
      if (kind === "HELP") {
        if (helps.has(name)) throw new Error(`HELP for ${name} twice`);
        helps.set(name, rest);
      } else {
        if (!TYPES.has(rest)) throw new Error(`bad type ${JSON.stringify(rest)} for ${name}`);
        if (families.has(name)) throw new Error(`TYPE for ${name} twice`);
        families.set(name, { name, type: rest as Family["type"], help: helps.get(name) ?? "", samples: [] });
      }
      continue;
    }
    const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
    if (!nameMatch) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const name = nameMatch[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    const fields = rest.trim().split(/\s+/);
    if (!rest.startsWith(" ") || fields.length < 1 || fields.length > 2) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    const value = parseValue(fields[0]!, line);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} has no # TYPE line before it`);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series ${key} twice`);
    seen.add(key);
    family.samples.push({ name, labels, value });
  }
  for (const family of families.values()) {
    if (family.type === "counter") {
      for (const s of family.samples) if (!(s.value >= 0)) throw new Error(`counter ${s.name} is ${s.value}`);
    }
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/**
 * Per series (the labels besides `le`): buckets are cumulative, end with le="+Inf", and +Inf
 * equals _count. A labelled histogram nothing was observed in yet has no series at all.
 */
function checkHistogram(family: Family): void {
  const series = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    const { le: _, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    series.set(key, [...(series.get(key) ?? []), sample]);
  }
  for (const [key, samples] of series) {
    const where = `histogram ${family.name}${key === "[]" ? "" : ` ${key}`}`;
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`);
    const count = samples.find((s) => s.name === `${family.name}_count`);
    const sum = samples.find((s) => s.name === `${family.name}_sum`);
    if (!count || !sum || buckets.length === 0) throw new Error(`${where} lacks _bucket, _sum or _count`);
    let previousLe = -Infinity;
    let previous = 0;
    for (const bucket of buckets) {
      const le = bucket.labels.le === "+Inf" ? Infinity : Number(bucket.labels.le);
      if (!(le > previousLe)) throw new Error(`${where}: le values not increasing`);
      if (bucket.value < previous) throw new Error(`${where}: buckets not cumulative at le=${bucket.labels.le}`);
      previousLe = le;
      previous = bucket.value;
    }
    if (previousLe !== Infinity) throw new Error(`${where}: no le="+Inf" bucket`);
    if (previous !== count.value) throw new Error(`${where}: +Inf bucket ${previous} != _count ${count.value}`);
  }
}

/** The value of one series (labels must match exactly); undefined when absent. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => sample.labels[k] === labels[k])) return sample.value;
    }
  }
  return undefined;
}
