import type { ActionEndpoint, CallingOptions, Middleware, ServiceBroker } from "moleculer";

type Call = (target: string | ActionEndpoint | undefined, params?: unknown, opts?: CallingOptions) => Promise<unknown>;

/**
 * Calls an action by name wherever a caller chose a remote endpoint object (moleculer-web does),
 * so that with the balancer disabled NATS picks a live node. Calls to a named node (`{ nodeID }`)
 * and local endpoints keep their target.
 */
export const routeThroughQueueGroups = {
  name: "RouteThroughQueueGroups",
  call(next: Call): Call {
    return (target, params, opts) => next(typeof target === "object" && !target.local ? target.action.name : target, params, opts);
  },
  // Moleculer joins the queue groups only when it broadcasts its node info, debounced by a second
  // after the services start, while it answers other nodes' discovery at once. A node that learnt
  // our services in that second sent its calls to no subscriber and waited out the request
  // timeout (measured: a REPL node's first call took 10 s). Broadcasting before start() resolves
  // joins the groups first.
  async started(broker: ServiceBroker) {
    await (broker.registry as unknown as { discoverer: { sendLocalNodeInfo(): Promise<void> } }).discoverer.sendLocalNodeInfo();
  },
} as unknown as Middleware;
