// A small Prometheus registry: counters and histograms with labels, gauges read at scrape time, and
// the text exposition format (version 0.0.4) that Prometheus scrapes. Hand-written because a daemon
// needs this much only: a few metric families, no push, no process metrics.

type Labels = Readonly<Record<string, string>>;

/** `{a="x",b="y"}` with Prometheus escaping; '' for no labels. */
function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

/** A number as Prometheus writes it. */
function value(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  // 15 significant digits: sums of float seconds lose their 0.000604099999999 noise.
  return String(Number(n.toPrecision(15)));
}

interface Family {
  render(): string[];
}

function header(name: string, help: string, type: string): string[] {
  return [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`];
}

export class Counter implements Family {
  readonly #values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels))?.value ?? 0;
  }

  render(): string[] {
    return [...header(this.name, this.help, 'counter'), ...[...this.#values.values()].map((e) => `${this.name}${labelText(e.labels)} ${value(e.value)}`)];
  }
}

export class Histogram implements Family {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  /** `bucketBounds`: the upper bounds (le), ascending; +Inf is added. */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly bucketBounds: readonly number[],
  ) {}

  observe(labels: Labels, sample: number): void {
    const key = labelText(labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { labels, counts: this.bucketBounds.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, series);
    }
    // Buckets are cumulative, as the format wants them.
    for (let i = 0; i < this.bucketBounds.length; i++) if (sample <= (this.bucketBounds[i] as number)) series.counts[i] = (series.counts[i] as number) + 1;
    series.sum += sample;
    series.count++;
  }

  render(): string[] {
    const lines = header(this.name, this.help, 'histogram');
    for (const s of this.#series.values()) {
      this.bucketBounds.forEach((le, i) => lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: value(le) })} ${s.counts[i] as number}`));
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${value(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** Values read at scrape time (a gauge, or a counter another object keeps). */
export class Collected implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    readonly read: () => readonly { readonly labels?: Labels; readonly value: number }[],
  ) {}

  render(): string[] {
    return [...header(this.name, this.help, this.type), ...this.read().map((s) => `${this.name}${labelText(s.labels ?? {})} ${value(s.value)}`)];
  }
}

export class Registry {
  readonly #families: Family[] = [];

  add<F extends Family>(family: F): F {
    this.#families.push(family);
    return family;
  }

  /** The exposition text, one family after another, ending in a newline. */
  render(): string {
    return `${this.#families.flatMap((f) => f.render()).join('\n')}\n`;
  }
}
