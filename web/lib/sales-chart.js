// The sales picture, drawn as SVG by hand: two small charts need no library to vet, serve and
// keep up to date, and their labels stay real text (readable by screen readers and by tests).

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) if (value != null) element.setAttribute(name, String(value));
  for (const child of children.flat())
    if (child != null) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/** Drawing width in SVG units: narrow on a phone, so the labels keep a readable size when scaled to the screen. */
const drawingWidth = () => (window.matchMedia("(max-width: 600px)").matches ? 360 : 640);

const dayAndTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

/**
 * Tickets sold so far over time (a step line of the running total) against the show's capacity:
 * the gap between the line and the capacity is the seats left.
 */
export function soldOverTimeChart(buckets, capacity) {
  const width = drawingWidth();
  const height = 240;
  const pad = { left: 48, right: 16, top: 16, bottom: 32 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  let total = 0;
  const points = [];
  for (const bucket of buckets) {
    total += bucket.tickets;
    points.push({ at: Date.parse(bucket.at), total });
  }
  const top = Math.max(capacity, total, 1);
  const first = points[0]?.at ?? Date.now();
  const last = Math.max(points.at(-1)?.at ?? first, first + 60_000);
  const x = (at) => pad.left + ((at - first) / (last - first)) * innerW;
  const y = (value) => pad.top + innerH - (value / top) * innerH;

  let path = `M ${x(first)} ${y(0)}`;
  for (const point of points) path += ` H ${x(point.at)} V ${y(point.total)}`;
  path += ` H ${x(last)}`;
  const ticks = [0, Math.round(top / 2), top];

  return s(
    "svg",
    { viewBox: `0 0 ${width} ${height}`, class: "chart chart--sold", role: "img", "aria-labelledby": "sold-title" },
    s("title", { id: "sold-title" }, `${total} of ${capacity} tickets sold; ${Math.max(capacity - total, 0)} seats left`),
    ticks.map((tick) =>
      s(
        "g",
        { class: "chart__tick" },
        s("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick) }),
        s("text", { x: pad.left - 6, y: y(tick) + 4, "text-anchor": "end" }, tick),
      ),
    ),
    s("line", { class: "chart__capacity", x1: pad.left, x2: width - pad.right, y1: y(capacity), y2: y(capacity) }),
    s("text", { class: "chart__capacity-label", x: width - pad.right, y: y(capacity) - 6, "text-anchor": "end" }, `Capacity ${capacity}`),
    s("path", { class: "chart__area", d: `${path} V ${y(0)} Z` }),
    s("path", { class: "chart__line", d: path }),
    s("text", { class: "chart__axis", x: pad.left, y: height - 8 }, dayAndTime.format(first)),
    s("text", { class: "chart__axis", x: width - pad.right, y: height - 8, "text-anchor": "end" }, dayAndTime.format(last)),
  );
}

/** A duration in seconds as staff read it: "4 s", "3 min", "2 h". */
export function formatDuration(seconds) {
  if (seconds == null) return "–";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

/** The fulfilment funnel: one bar per step, its count, its share of confirmed and the median time to reach it. */
export function funnelChart(funnel) {
  const steps = [
    { label: "Confirmed", count: funnel.confirmed, seconds: null },
    { label: "Printed", count: funnel.printed, seconds: funnel.median_seconds_to_print },
    { label: "Receipt", count: funnel.receipt, seconds: funnel.median_seconds_to_receipt },
    { label: "Refunded", count: funnel.refunded, seconds: funnel.median_seconds_to_refund },
  ];
  const width = drawingWidth();
  const narrow = width < 640;
  // On a phone the median goes under its bar instead of beside it.
  const row = narrow ? 62 : 44;
  const labelW = narrow ? 84 : 96;
  const barW = width - labelW - (narrow ? 100 : 190);
  const top = Math.max(funnel.confirmed, 1);
  return s(
    "svg",
    { viewBox: `0 0 ${width} ${steps.length * row}`, class: "chart chart--funnel", role: "img", "aria-labelledby": "funnel-title" },
    s("title", { id: "funnel-title" }, steps.map((step) => `${step.label}: ${step.count}`).join(", ")),
    steps.map((step, i) => {
      const share = funnel.confirmed ? Math.round((step.count / funnel.confirmed) * 100) : 0;
      const y = i * row + 8;
      return s(
        "g",
        { class: `chart__step chart__step--${step.label.toLowerCase()}`, "data-step": step.label.toLowerCase() },
        s("text", { x: 0, y: y + 20, class: "chart__step-label" }, step.label),
        s("rect", { x: labelW, y, width: barW, height: 28, rx: 4, class: "chart__track" }),
        s("rect", { x: labelW, y, width: Math.max((step.count / top) * barW, step.count ? 2 : 0), height: 28, rx: 4, class: "chart__bar" }),
        s("text", { x: labelW + barW + 10, y: y + 20, class: "chart__count" }, `${step.count} (${share}%)`),
        step.seconds === undefined || i === 0
          ? null
          : s(
              "text",
              narrow
                ? { x: labelW, y: y + 46, class: "chart__median" }
                : { x: width, y: y + 20, "text-anchor": "end", class: "chart__median" },
              `median ${formatDuration(step.seconds)}`,
            ),
      );
    }),
  );
}
