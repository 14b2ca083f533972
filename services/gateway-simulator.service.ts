// Runs the fake external gateway (adapters/simulator/) inside a broker, for developer machines
// and tests where GATEWAY_URL is unset. All behaviour lives there; this only starts and stops it.
import type { ServiceSchema } from "moleculer";
import { startGatewaySimulator, type GatewaySimulator } from "../adapters/simulator/index.ts";

export interface GatewaySimulatorSettings {
  /** Port to listen on; 0 picks a free one (read it back from `this.simulator.url`). Default 8888. */
  port: number;
  host?: string;
  /** Base URL of the app; Dead Nation bookings are confirmed at {callbackBaseUrl}/api/tickets-status. */
  callbackBaseUrl?: string;
  autoConfirmDeadNation?: boolean;
  ticketPrice?: { amount: string; currency: string };
  /** Signs Dead Nation's callbacks (PARTNER_SIGNING_SECRET). */
  signingSecret?: string;
}

interface GatewaySimulatorVars {
  simulator?: GatewaySimulator;
}

const GatewaySimulatorService: ServiceSchema<GatewaySimulatorSettings, Record<string, never>, GatewaySimulatorVars> = {
  name: "gateway-simulator",

  settings: {
    port: 8888,
  },

  async started() {
    const { port, host, callbackBaseUrl, autoConfirmDeadNation, ticketPrice, signingSecret } = this.settings;
    this.simulator = await startGatewaySimulator({
      port,
      host,
      callbackBaseUrl,
      autoConfirmDeadNation,
      ticketPrice,
      signingSecret,
      logger: this.logger,
    });
  },

  async stopped() {
    await this.simulator?.close();
    this.simulator = undefined;
  },
};

export default GatewaySimulatorService;
