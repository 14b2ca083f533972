// A strict reader of the Prometheus text exposition format (0.0.4), for tests: it refuses what a
// scraper would refuse or misread (bad names or escapes, a TYPE after samples or twice, a family
// split in two groups, duplicate series, samples that do not belong to their family's type,
// non-cumulative histogram buckets, missing +Inf bucket, quantiles outside [0, 1]).

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export class ExpositionError extends Error {}

export function parsePrometheusText(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const finished = new Set<string>();
  const seriesSeen = new Set<string>();
  const typed = new Set<string>();
  let current: Family | undefined;

  const familyFor = (name: string, lineNo: number): Family => {
    const owner = ownerOf(name, families);
    if (current && current.name !== owner) {
      finished.add(current.name);
      current = undefined;
    }
    if (!current) {
      if (finished.has(owner)) throw new ExpositionError(`line ${lineNo}: samples of ${owner} are not in one group`);
      current = families.get(owner) ?? { name: owner, type: "untyped", samples: [] };
      families.set(owner, current);
    }
    return current;
  };

  text.split("\n").forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === "") return;
    if (line.startsWith("#")) {
      const meta = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!meta) return; // a plain comment
      const [, kind, name, rest = ""] = meta;
      if (!METRIC_NAME.test(name!)) throw new ExpositionError(`line ${lineNo}: bad metric name ${name}`);
      const family = familyFor(name!, lineNo);
      if (family.name !== name) throw new ExpositionError(`line ${lineNo}: ${kind} ${name} inside family ${family.name}`);
      if (kind === "TYPE") {
        if (!TYPES.has(rest)) throw new ExpositionError(`line ${lineNo}: unknown type ${rest}`);
        if (family.samples.length > 0) throw new ExpositionError(`line ${lineNo}: TYPE of ${name} after its samples`);
        if (typed.has(family.name)) throw new ExpositionError(`line ${lineNo}: second TYPE for ${name}`);
        family.type = rest as MetricType;
        typed.add(family.name);
      } else {
        if (family.help !== undefined) throw new ExpositionError(`line ${lineNo}: second HELP for ${name}`);
        family.help = rest;
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    const family = familyFor(sample.name, lineNo);
    checkBelongs(family, sample, lineNo);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seriesSeen.has(key)) throw new ExpositionError(`line ${lineNo}: duplicate series ${key}`);
    seriesSeen.add(key);
    family.samples.push(sample);
  });

  for (const family of families.values()) checkFamily(family);
  return families;
}

/** The family a sample or metadata line belongs to: `x_bucket` → `x` when `x` is a histogram, etc. */
function ownerOf(name: string, families: Map<string, Family>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const family = families.get(base);
    if (family && (family.type === "histogram" || (family.type === "summary" && suffix !== "_bucket"))) return base;
  }
  return name;
}

function parseSample(line: string, lineNo: number): Sample {
  const nameMatch = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!nameMatch) throw new ExpositionError(`line ${lineNo}: no metric name in "${line}"`);
  const name = nameMatch[1]!;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    let i = 1;
    for (;;) {
      while (rest[i] === " ") i++;
      if (rest[i] === "}") {
        i++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(rest.slice(i));
      if (!labelMatch) throw new ExpositionError(`line ${lineNo}: bad label at "${rest.slice(i)}"`);
      const labelName = labelMatch[1]!;
      if (!LABEL_NAME.test(labelName)) throw new ExpositionError(`line ${lineNo}: bad label name ${labelName}`);
      i += labelMatch[0].length;
      let value = "";
      for (;;) {
        const ch = rest[i];
        if (ch === undefined) throw new ExpositionError(`line ${lineNo}: unterminated label value`);
        if (ch === '"') {
          i++;
          break;
        }
        if (ch === "\\") {
          const next = rest[i + 1];
          if (next === "\\") value += "\\";
          else if (next === '"') value += '"';
          else if (next === "n") value += "\n";
          else throw new ExpositionError(`line ${lineNo}: bad escape \\${next}`);
          i += 2;
          continue;
        }
        value += ch;
        i++;
      }
      if (labelName in labels) throw new ExpositionError(`line ${lineNo}: label ${labelName} twice`);
      labels[labelName] = value;
      while (rest[i] === " ") i++;
      if (rest[i] === ",") i++;
      else if (rest[i] !== "}") throw new ExpositionError(`line ${lineNo}: expected , or } in labels`);
    }
    rest = rest.slice(i);
  }
  const parts = rest.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === "")
    throw new ExpositionError(`line ${lineNo}: expected value [timestamp] in "${line}"`);
  const value = parseValue(parts[0]!, lineNo);
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new ExpositionError(`line ${lineNo}: bad timestamp ${parts[1]}`);
  return { name, labels, value };
}

/** As Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes "Nan"). */
function parseValue(text: string, lineNo: number): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^\+?inf(inity)?$/i.test(text)) return Infinity;
  if (/^-inf(inity)?$/i.test(text)) return -Infinity;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new ExpositionError(`line ${lineNo}: bad value ${text}`);
  return Number(text);
}

function checkBelongs(family: Family, sample: Sample, lineNo: number): void {
  const suffix = sample.name.slice(family.name.length);
  const allowed: Record<MetricType, string[]> = {
    counter: [""],
    gauge: [""],
    untyped: [""],
    summary: ["", "_sum", "_count"],
    histogram: ["_bucket", "_sum", "_count"],
  };
  if (!allowed[family.type].includes(suffix))
    throw new ExpositionError(`line ${lineNo}: ${sample.name} does not belong to ${family.type} ${family.name}`);
  if (family.type === "histogram" && suffix === "_bucket" && !("le" in sample.labels))
    throw new ExpositionError(`line ${lineNo}: bucket without le`);
  if (family.type === "summary" && suffix === "") {
    const q = Number(sample.labels.quantile);
    if (!("quantile" in sample.labels) || !(q >= 0 && q <= 1))
      throw new ExpositionError(`line ${lineNo}: summary sample without a quantile in [0, 1]`);
  }
  if (family.type === "counter" && sample.value < 0) throw new ExpositionError(`line ${lineNo}: negative counter`);
}

function checkFamily(family: Family): void {
  if (family.type !== "histogram") return;
  const byLabels = new Map<string, Sample[]>();
  for (const sample of family.samples) {
    if (!sample.name.endsWith("_bucket")) continue;
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    byLabels.set(key, [...(byLabels.get(key) ?? []), sample]);
  }
  for (const [key, buckets] of byLabels) {
    const sorted = [...buckets].sort((a, b) => parseValue(a.labels.le!, 0) - parseValue(b.labels.le!, 0));
    if (sorted.at(-1)?.labels.le !== "+Inf") throw new ExpositionError(`${family.name}${key}: no +Inf bucket`);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.value < sorted[i - 1]!.value) throw new ExpositionError(`${family.name}${key}: buckets are not cumulative`);
    }
    const count = family.samples.find((s) => s.name === `${family.name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key);
    if (!count || count.value !== sorted.at(-1)!.value)
      throw new ExpositionError(`${family.name}${key}: _count differs from the +Inf bucket`);
  }
}

/** The samples of `family` (exact sample name, e.g. `x_count`) whose labels include `match`. */
export function samplesOf(families: Map<string, Family>, sampleName: string, match: Record<string, string> = {}): Sample[] {
  const owner = ownerOf(sampleName, families);
  return (families.get(owner)?.samples ?? []).filter(
    (s) => s.name === sampleName && Object.entries(match).every(([k, v]) => s.labels[k] === v),
  );
}
