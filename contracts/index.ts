import type { MessageContract } from "./common.ts";
import * as commands from "./commands.ts";
import * as events from "./events.ts";

export * from "./common.ts";
export * from "./commands.ts";
export * from "./events.ts";

/** Every contract by name: the data lake, the mirror, dead-letter replay and the tests look them up here. */
export const contractsByName: ReadonlyMap<string, MessageContract> = new Map(
  [...Object.values(events), ...Object.values(commands)].map((contract) => [contract.name, contract as MessageContract]),
);
