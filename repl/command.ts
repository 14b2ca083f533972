import type { ServiceBroker } from "moleculer";

/** What moleculer-repl hands a custom command besides the broker (its bundled `table` and `kleur`). */
export interface ReplHelpers {
  table(rows: unknown[][], config?: object): string;
  getBorderCharacters(name: string): Record<string, string>;
  kleur: {
    bold(text: string): string;
    gray(text: string): string;
    red(text: string): string;
    green(text: string): string;
    yellow(text: string): string;
  };
}

/** moleculer-repl's custom command definition; `action` gets the arguments named in `command`. */
export interface ReplCommand {
  command: string;
  description: string;
  alias?: string[];
  action(broker: ServiceBroker, args: Record<string, string | undefined>, helpers: ReplHelpers): Promise<void>;
}
