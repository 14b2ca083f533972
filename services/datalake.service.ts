import type { TicketsServiceSchema } from "../mixins/index.ts";
import { ConsumerMixin, onEveryEventBatch } from "../mixins/consumer.mixin.ts";

/** The data lake: every event stored once, keyed by its header id, for replays and rebuilds. */
const DataLakeService: TicketsServiceSchema = {
  name: "datalake",
  mixins: [ConsumerMixin()],

  subscriptions: {
    // the events that arrive together go in one INSERT: a copy of one already stored is skipped by its id
    StoreToDataLake: onEveryEventBatch(async function (events) {
      await this.db("events")
        .insert(
          events.map(({ payload, delivery }) => ({
            event_id: payload.header.id,
            published_at: payload.header.published_at,
            event_name: delivery.name,
            event_payload: delivery.raw,
          })),
        )
        .onConflict("event_id")
        .ignore();
    }),
  },
};

export default DataLakeService;
