import type { Knex } from "knex";
import * as businessSchema from "./20261126_001_business_schema.ts";
import * as messagingSchema from "./20261126_002_messaging_schema.ts";
import * as opsReadModelRebuild from "./20261126_020_ops_read_model_rebuild.ts";
import * as opsTicketsWithoutBooking from "./20261126_021_ops_tickets_without_booking.ts";
import * as handlerAttempts from "./20261126_022_handler_attempts.ts";
import * as lowerCaseTicketIds from "./20261201_023_lower_case_ticket_ids.ts";
import * as staffAccess from "./20261201_030_staff_access.ts";
import * as listIndexes from "./20261201_031_list_indexes.ts";
import * as housekeepingIndexes from "./20261201_032_housekeeping_indexes.ts";
import * as dataLakeOrder from "./20261201_033_data_lake_order.ts";
import * as outboxConfirmedTicket from "./20261201_034_outbox_confirmed_ticket.ts";
import * as refundClaims from "./20261201_035_refund_claims_and_open_attempts.ts";
import * as unansweredAttempts from "./20261202_036_unanswered_attempts.ts";
import * as staffCredentialsNotify from "./20261202_037_staff_credentials_notify.ts";
import * as rebuildDeferredEvents from "./20261207_038_rebuild_deferred_events.ts";
import * as opsTicketBookings from "./20261207_039_ops_ticket_bookings.ts";

/** Every migration in order; listed here so they load the same way under tsx, tests and bundles. */
const migrations: Record<string, Knex.Migration> = {
  "20261126_001_business_schema": businessSchema,
  "20261126_002_messaging_schema": messagingSchema,
  "20261126_020_ops_read_model_rebuild": opsReadModelRebuild,
  "20261126_021_ops_tickets_without_booking": opsTicketsWithoutBooking,
  "20261126_022_handler_attempts": handlerAttempts,
  "20261201_023_lower_case_ticket_ids": lowerCaseTicketIds,
  "20261201_030_staff_access": staffAccess,
  "20261201_031_list_indexes": listIndexes,
  "20261201_032_housekeeping_indexes": housekeepingIndexes,
  "20261201_033_data_lake_order": dataLakeOrder,
  "20261201_034_outbox_confirmed_ticket": outboxConfirmedTicket,
  "20261201_035_refund_claims_and_open_attempts": refundClaims,
  "20261202_036_unanswered_attempts": unansweredAttempts,
  "20261202_037_staff_credentials_notify": staffCredentialsNotify,
  "20261207_038_rebuild_deferred_events": rebuildDeferredEvents,
  "20261207_039_ops_ticket_bookings": opsTicketBookings,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
