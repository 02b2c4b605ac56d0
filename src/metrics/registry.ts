/**
 * A small registry that renders the Prometheus text format (version 0.0.4): counters,
 * gauges and histograms with labels. Each process keeps its own; Prometheus adds them up
 * across processes, which is why nothing here is shared.
 */

type LabelValues<L extends string> = Record<L, string>;

interface Series {
  labels: string;
}

abstract class Metric<L extends string, S extends Series> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series = new Map<string, S>();

  constructor(name: string, help: string, labelNames: readonly L[]) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`bad metric name "${name}"`);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';

  protected abstract create(labels: string): S;

  protected abstract sample(series: S): string[];

  /** The series for these label values, created on first use. */
  protected at(values: LabelValues<L>): S {
    // Looked up by the raw values (every request counts here); rendered once per series.
    let key = '';
    for (const n of this.labelNames) key += `${values[n]}\u0000`;
    let found = this.series.get(key);
    if (found === undefined) {
      found = this.create(renderLabels(this.labelNames.map((n) => [n, values[n]])));
      this.series.set(key, found);
    }
    return found;
  }

  render(): string {
    const head = [`# HELP ${this.name} ${escapeHelp(this.help)}`,
      `# TYPE ${this.name} ${this.type}`];
    const body = [...this.series.values()].flatMap((s) => this.sample(s));
    return [...head, ...body].join('\n');
  }
}

interface ValueSeries extends Series {
  value: number;
}

export class Counter<L extends string = never> extends Metric<L, ValueSeries> {
  readonly type = 'counter';

  inc(labels: LabelValues<L>, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} cannot go down`);
    this.at(labels).value += by;
  }

  get(labels: LabelValues<L>): number {
    return this.at(labels).value;
  }

  protected create(labels: string): ValueSeries {
    return { labels, value: 0 };
  }

  protected sample(s: ValueSeries): string[] {
    return [`${this.name}${s.labels} ${formatNumber(s.value)}`];
  }
}

export class Gauge<L extends string = never> extends Metric<L, ValueSeries> {
  readonly type = 'gauge';

  set(labels: LabelValues<L>, value: number): void {
    this.at(labels).value = value;
  }

  get(labels: LabelValues<L>): number {
    return this.at(labels).value;
  }

  protected create(labels: string): ValueSeries {
    return { labels, value: 0 };
  }

  protected sample(s: ValueSeries): string[] {
    return [`${this.name}${s.labels} ${formatNumber(s.value)}`];
  }
}

interface HistogramSeries extends Series {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram<L extends string = never> extends Metric<L, HistogramSeries> {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => i > 0 && b === sorted[i - 1])) {
      throw new Error(`histogram ${name} needs distinct buckets`);
    }
    this.buckets = sorted;
  }

  observe(labels: LabelValues<L>, value: number): void {
    const s = this.at(labels);
    const index = this.buckets.findIndex((b) => value <= b);
    if (index >= 0) s.counts[index] = (s.counts[index] ?? 0) + 1;
    s.sum += value;
    s.count += 1;
  }

  /** The number of observations and their sum, for tests and summaries. */
  get(labels: LabelValues<L>): { count: number; sum: number } {
    const s = this.at(labels);
    return { count: s.count, sum: s.sum };
  }

  protected create(labels: string): HistogramSeries {
    return { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  protected sample(s: HistogramSeries): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += s.counts[i] ?? 0;
      lines.push(`${this.name}_bucket${withLe(s.labels, formatNumber(bound))} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket${withLe(s.labels, '+Inf')} ${s.count}`);
    lines.push(`${this.name}_sum${s.labels} ${formatNumber(s.sum)}`);
    lines.push(`${this.name}_count${s.labels} ${s.count}`);
    return lines;
  }
}

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class Registry {
  readonly #metrics = new Map<string, AnyMetric>();
  readonly #collectors: (() => Promise<void> | void)[] = [];

  counter<L extends string = never>(name: string, help: string, labels: readonly L[] = []) {
    return this.#add(new Counter<L>(name, help, labels));
  }

  gauge<L extends string = never>(name: string, help: string, labels: readonly L[] = []) {
    return this.#add(new Gauge<L>(name, help, labels));
  }

  histogram<L extends string = never>(name: string, help: string, labels: readonly L[],
    buckets: readonly number[]) {
    return this.#add(new Histogram<L>(name, help, labels, buckets));
  }

  /** Runs before every render, for values that are read rather than counted (gauges). */
  onCollect(collect: () => Promise<void> | void): void {
    this.#collectors.push(collect);
  }

  async render(): Promise<string> {
    for (const collect of this.#collectors) await collect();
    return `${[...this.#metrics.values()].map((m) => m.render()).join('\n')}\n`;
  }

  #add<M extends AnyMetric>(metric: M): M {
    if (this.#metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function renderLabels(pairs: [string, string | undefined][]): string {
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v ?? '')}"`).join(',')}}`;
}

function withLe(labels: string, le: string): string {
  const pair = `le="${le}"`;
  return labels === '' ? `{${pair}}` : `${labels.slice(0, -1)},${pair}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}
