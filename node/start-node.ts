import moleculer, { type ServiceBroker as Broker, type ServiceSchema } from "moleculer";
import type { AddressInfo } from "node:net";
import { servicesOf, type Config, type ServiceName } from "../config/index.ts";
import { createGatewayClient } from "../adapters/gateway-client/index.ts";
import { brokerOptions } from "../moleculer.config.ts";
import { migrateToLatest } from "../lib/database/db.ts";
import { attachRuntime, openRuntime, type Runtime } from "../lib/runtime.ts";
import { startOpsServer, type OpsServer } from "../lib/observability/metrics-server.ts";
import AdminService from "../services/admin.service.ts";
import ApiGatewayService from "../services/api-gateway.service.ts";
import DataLakeService from "../services/datalake.service.ts";
import GatewaySimulatorService from "../services/gateway-simulator.service.ts";
import RefundsService from "../services/refunds.service.ts";
import TicketsService from "../services/tickets.service.ts";
import ShowsService from "../services/shows.service.ts";
import BookingsService from "../services/bookings.service.ts";
import OpsService from "../services/ops.service.ts";

const { ServiceBroker } = moleculer;

/**
 * The services a node can run, by their Moleculer names; keyed by ALL_SERVICES, so a name
 * config/ accepts always has a schema here. Schemas type `this` with their mixins' methods; the
 * broker only needs the plain shape.
 */
const serviceCatalog: Record<ServiceName, ServiceSchema> = {
  "api-gateway": ApiGatewayService,
  tickets: TicketsService as ServiceSchema,
  datalake: DataLakeService as ServiceSchema,
  shows: ShowsService as ServiceSchema,
  bookings: BookingsService as ServiceSchema,
  ops: OpsService as ServiceSchema,
  refunds: RefundsService as ServiceSchema,
  admin: AdminService as ServiceSchema,
};

export interface TicketsNode {
  broker: Broker;
  runtime: Runtime;
  config: Config;
  /** Port the HTTP api listens on, when this node runs it. */
  httpPort?: number;
  /** Port of /metrics, /health and /ready when METRICS_PORT is set. */
  metricsPort?: number;
  gatewayUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts one node: migrations, connections, the broker with the configured services, and the
 * gateway simulator when no GATEWAY_URL is given. Stopping reverses it, relay flushed last.
 */
export async function startNode(config: Config): Promise<TicketsNode> {
  const broker = new ServiceBroker(brokerOptions(config));
  const logger = broker.getLogger("node");
  const gatewayUrl = config.GATEWAY_URL ?? `http://127.0.0.1:${config.GATEWAY_SIMULATOR_PORT}`;
  const runtime = await openRuntime(config, logger, {
    gateway: createGatewayClient({
      baseUrl: gatewayUrl,
      timeoutMs: config.GATEWAY_TIMEOUT_MS,
      breaker: {
        failures: config.GATEWAY_BREAKER_FAILURES,
        cooldownMs: config.GATEWAY_BREAKER_COOLDOWN_MS,
        maxCooldownMs: config.GATEWAY_BREAKER_MAX_COOLDOWN_MS,
      },
    }),
  });
  attachRuntime(broker, runtime);
  let opsServer: OpsServer | undefined;
  try {
    const applied = await migrateToLatest(runtime.db);
    if (applied.length > 0) logger.info({ applied }, "migrations applied");

    if (!config.GATEWAY_URL) {
      broker.createService({
        ...GatewaySimulatorService,
        settings: {
          port: config.GATEWAY_SIMULATOR_PORT,
          callbackBaseUrl: `http://127.0.0.1:${config.PORT}`,
          signingSecret: config.PARTNER_SIGNING_SECRET,
        },
      });
    }
    for (const name of servicesOf(config)) broker.createService(serviceCatalog[name]);
    await broker.start();
    // Every node relays, so outbox rows never wait for a particular service to be up somewhere.
    await runtime.ensureRelay();
    await runtime.ensureMirror();
    runtime.startHousekeeping();
    if (config.METRICS_PORT !== undefined) opsServer = await startOpsServer(broker, runtime, config.METRICS_PORT);
  } catch (error) {
    await broker.stop().catch(() => undefined);
    await runtime.close();
    throw error;
  }

  const api = broker.getLocalService("api-gateway") as unknown as { server?: { address(): AddressInfo } } | undefined;
  let stopping: Promise<void> | undefined;
  return {
    broker,
    runtime,
    config,
    gatewayUrl,
    httpPort: api?.server?.address().port,
    metricsPort: opsServer?.port,
    stop() {
      stopping ??= (async () => {
        await opsServer?.close();
        await broker.stop();
        await runtime.close();
      })();
      return stopping;
    },
  };
}
