import type { Knex } from "knex";
import * as businessSchema from "./20261126_001_business_schema.ts";
import * as messagingSchema from "./20261126_002_messaging_schema.ts";
import * as opsReadModelRebuild from "./20261126_020_ops_read_model_rebuild.ts";
import * as opsTicketsWithoutBooking from "./20261126_021_ops_tickets_without_booking.ts";
import * as handlerAttempts from "./20261126_022_handler_attempts.ts";
import * as refundClaims from "./20261126_023_refund_claims_and_open_attempts.ts";

/** Every migration in order; listed here so they load the same way under tsx, tests and bundles. */
const migrations: Record<string, Knex.Migration> = {
  "20261126_001_business_schema": businessSchema,
  "20261126_002_messaging_schema": messagingSchema,
  "20261126_020_ops_read_model_rebuild": opsReadModelRebuild,
  "20261126_021_ops_tickets_without_booking": opsTicketsWithoutBooking,
  "20261126_022_handler_attempts": handlerAttempts,
  "20261126_023_refund_claims_and_open_attempts": refundClaims,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
