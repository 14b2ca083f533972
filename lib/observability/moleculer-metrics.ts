import type { ServiceBroker } from "moleculer";

interface MoleculerMetricItem {
  labels: Record<string, unknown>;
  value?: unknown;
  count?: number;
  sum?: number;
  buckets?: Record<string, number>;
}

interface MoleculerMetric {
  name: string;
  type: "counter" | "gauge" | "histogram" | "info";
  description?: string;
  unit?: string;
  snapshot(): MoleculerMetricItem[];
}

/**
 * Moleculer's `moleculer.*` metrics in the text format. Its PrometheusReporter would open a port of
 * its own and writes quantile, min and mean lines under a histogram TYPE, which the format does not
 * allow; histograms here carry only buckets, sum and count (quantiles come from histogram_quantile).
 * Process and OS figures come from prom-client's default metrics instead of Moleculer's.
 */
export function renderMoleculerMetrics(broker: ServiceBroker): string {
  const store = (broker.metrics as unknown as { store: Map<string, MoleculerMetric> }).store;
  const common = { namespace: broker.namespace, nodeID: broker.nodeID };
  const lines: string[] = [];
  for (const metric of store.values()) {
    if (!metric.name.startsWith("moleculer.")) continue;
    const items = metric.snapshot();
    if (items.length === 0) continue;
    const name = metric.name.replace(/[.-]/g, "_");
    const help = (metric.description ?? metric.name) + (metric.unit ? ` (${metric.unit})` : "");
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${metric.type === "info" ? "gauge" : metric.type}`);
    for (const item of items) {
      const labels = { ...common, ...item.labels };
      if (metric.type === "histogram") {
        const bounds = Object.keys(item.buckets ?? {}).sort((a, b) => Number(a) - Number(b));
        for (const le of bounds) lines.push(`${name}_bucket${labelText({ ...labels, le })} ${num(item.buckets![le])}`);
        lines.push(`${name}_bucket${labelText({ ...labels, le: "+Inf" })} ${num(item.count)}`);
        lines.push(`${name}_sum${labelText(labels)} ${num(item.sum)}`, `${name}_count${labelText(labels)} ${num(item.count)}`);
      } else if (metric.type === "info") {
        lines.push(`${name}${labelText({ ...labels, value: item.value })} 1`);
      } else {
        lines.push(`${name}${labelText(labels)} ${num(item.value)}`);
      }
    }
  }
  return `${lines.join("\n")}\n`;
}

function labelText(labels: Record<string, unknown>): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${escapeLabel(value == null ? "" : String(value))}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const num = (value: unknown) =>
  typeof value !== "number" || Number.isNaN(value) ? "NaN" : value === Infinity ? "+Inf" : value === -Infinity ? "-Inf" : String(value);
