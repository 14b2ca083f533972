import type { TicketsServiceSchema } from "../mixins/index.ts";
import { ConsumerMixin, onEveryEvent } from "../mixins/consumer.mixin.ts";

/** The data lake: every event stored once, keyed by its header id, for replays and rebuilds. */
const DataLakeService: TicketsServiceSchema = {
  name: "datalake",
  mixins: [ConsumerMixin()],

  subscriptions: {
    StoreToDataLake: onEveryEvent(async function (event, delivery) {
      await this.db("events")
        .insert({
          event_id: event.header.id,
          published_at: event.header.published_at,
          event_name: delivery.name,
          event_payload: delivery.raw,
        })
        .onConflict("event_id")
        .ignore();
    }),
  },
};

export default DataLakeService;
