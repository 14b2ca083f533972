/** The cross-origin policy: off unless CORS_ORIGINS names the origins (the web UI is served same-origin). */
export interface CorsPolicy {
  origin: string[];
  methods: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAge: number;
}

export function corsPolicy(origins: string[]): CorsPolicy | undefined {
  if (origins.length === 0) return undefined;
  return {
    origin: origins,
    methods: ["GET", "HEAD", "POST", "PUT", "DELETE"],
    allowedHeaders: ["Content-Type", "Authorization", "Idempotency-Key", "Correlation-ID", "traceparent", "tracestate"],
    exposedHeaders: ["Correlation-ID", "X-Request-Id", "X-Trace-ID", "Idempotent-Replayed"],
    maxAge: 600,
  };
}
