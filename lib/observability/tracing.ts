import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context as OtelContext,
  type Span,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SamplingDecision,
  SimpleSpanProcessor,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { errorMessage } from "../errors.ts";
import { withLogContext } from "./log-context.ts";

/** The W3C trace context as it travels in ctx.meta, outbox metadata and JetStream headers. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export const tracer = trace.getTracer("tickets");

/**
 * Span processors can only be given to a provider when it is built, yet tests attach an in-memory
 * exporter afterwards; this one forwards to whatever is attached at the time.
 */
class AttachableSpanProcessor implements SpanProcessor {
  readonly attached: SpanProcessor[] = [];
  onStart(...args: Parameters<SpanProcessor["onStart"]>): void {
    for (const p of this.attached) p.onStart(...args);
  }
  onEnd(span: ReadableSpan): void {
    for (const p of this.attached) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.attached.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.attached.map((p) => p.shutdown()));
  }
}

const processors = new AttachableSpanProcessor();

/**
 * Records spans only while an exporter is attached. Unrecorded spans still get trace and span ids,
 * so traceparent, X-Trace-ID and the logs' trace_id work the same, without the attribute, event and
 * timing bookkeeping no one would read (the SDK was 2.5 % of a node's profile samples per booking
 * and per ticket). The parent's sampled flag is not followed, so a node that exports records the traces
 * that reach it from nodes that do not.
 */
const recordWhileExported: Sampler = {
  shouldSample: () => ({
    decision: processors.attached.length > 0 ? SamplingDecision.RECORD_AND_SAMPLED : SamplingDecision.NOT_RECORD,
  }),
  toString: () => "RecordWhileExported",
};
let provider: NodeTracerProvider | undefined;
let otlpAttached = false;

export interface TracingOptions {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<url>/v1/traces`. */
  otlpEndpoint?: string;
  nodeId?: string;
}

/**
 * Installs the process's tracer provider once (later calls only add an exporter if the first had
 * none): W3C TraceContext propagation, AsyncLocalStorage context, and a batch OTLP exporter when
 * an endpoint is configured. Spans are always created, so trace ids propagate and `X-Trace-ID` is
 * set even when nothing is exported; they are recorded only while something exports them.
 */
export function initTracing(options: TracingOptions = {}): void {
  if (!provider) {
    provider = new NodeTracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: "tickets",
        ...(options.nodeId ? { "service.instance.id": options.nodeId } : {}),
      }),
      spanProcessors: [processors],
      sampler: recordWhileExported,
    });
    provider.register({ propagator: new W3CTraceContextPropagator() });
  }
  if (options.otlpEndpoint && !otlpAttached) {
    const url = `${options.otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
    processors.attached.push(new BatchSpanProcessor(new OTLPTraceExporter({ url })));
    otlpAttached = true;
  }
}

/** Sends every span ended from now on to `exporter` as well (tests pass an InMemorySpanExporter). */
export function exportSpansTo(exporter: SpanExporter): void {
  initTracing();
  processors.attached.push(new SimpleSpanProcessor(exporter));
}

/** Hands buffered spans to the exporters (on node stop; a batch processor holds them up to 5 s). */
export async function flushTraces(): Promise<void> {
  await processors.forceFlush().catch(() => undefined);
}

/** The context a carrier continues, on top of `base` (the active context by default). */
export function contextFrom(carrier: TraceCarrier, base: OtelContext = context.active()): OtelContext {
  return carrier.traceparent ? propagation.extract(base, carrier) : base;
}

/** The W3C fields of `ctx` (the active context by default); empty when there is no valid span. */
export function traceCarrierOf(ctx: OtelContext = context.active()): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Ends `span` with the outcome of `work`, recording an error as the original's tracing middleware did. */
export async function endWith<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error instanceof Error ? error : new Error(errorMessage(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `work` as the active span `name`, child of `parent`. */
export function inSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: OtelContext },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  const span = tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
  return context.with(trace.setSpan(parent, span), () => endWith(span, () => work(span)));
}

export interface HandlerTrace extends TraceCarrier {
  topic: string;
  handler: string;
  correlationId?: string;
}

/**
 * One message attempt as the original traced it: span `topic: <topic>, handler: <handler>` continuing
 * the delivery's traceparent, with the delivery's correlation id on every log line inside.
 */
export function inHandlerSpan<T>(delivery: HandlerTrace, work: () => Promise<T>): Promise<T> {
  const { topic, handler, correlationId } = delivery;
  return withLogContext({ correlationId }, () =>
    inSpan(
      `topic: ${topic}, handler: ${handler}`,
      { kind: SpanKind.CONSUMER, attributes: { topic, handler }, parent: contextFrom(delivery, ROOT_CONTEXT) },
      work,
    ),
  );
}

/**
 * One span per message of a batch handled in one piece, each continuing its own message's trace
 * (named as `inHandlerSpan` names it) and each ending with the batch's outcome; the work itself
 * runs outside any of them, since it serves them all.
 */
export async function inHandlerSpans<T>(deliveries: HandlerTrace[], work: () => Promise<T>): Promise<T> {
  const spans = deliveries.map(({ topic, handler, ...carrier }) =>
    tracer.startSpan(
      `topic: ${topic}, handler: ${handler}`,
      { kind: SpanKind.CONSUMER, attributes: { topic, handler } },
      contextFrom(carrier, ROOT_CONTEXT),
    ),
  );
  const [first, ...rest] = spans;
  try {
    return await endWith(first!, work);
  } catch (error) {
    for (const span of rest) span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    throw error;
  } finally {
    for (const span of rest) span.end();
  }
}
