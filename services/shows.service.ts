import type { Context } from "moleculer";
import { Uuid } from "../contracts/common.ts";
import { CreateShowRequest, ShowsQuery, type ShowView } from "../contracts/http.ts";
import { HttpError, validate } from "../lib/http/http-errors.ts";
import { oncePerRequest, reply } from "../lib/http/idempotency.ts";
import { replyPage } from "../lib/http/pagination.ts";
import type { RequestMeta } from "../lib/http/request-meta.ts";
import { DatabaseMixin } from "../mixins/database.mixin.ts";
import type { TicketsServiceSchema } from "../mixins/index.ts";
import * as shows from "./shows.repository.ts";

/** Shows: what can be booked, each tied to one Dead Nation event. */
const ShowsService: TicketsServiceSchema = {
  name: "shows",
  mixins: [DatabaseMixin()],

  actions: {
    /** POST /api/shows → 201 {show_id}; a dead_nation_id already used is 409. */
    create: {
      async handler(ctx: Context<unknown, RequestMeta>) {
        const request = validate(CreateShowRequest, ctx.params);
        const result = await this.transaction((trx) =>
          oncePerRequest(trx, "shows", ctx.meta, request, async () => {
            const showId = await shows.create(trx, request);
            if (!showId) throw new HttpError(409, "a show with this dead_nation_id already exists");
            return { status: 201, body: { show_id: showId } };
          }),
        );
        return reply(ctx.meta, result, (created) => `/api/shows/${created.show_id}`);
      },
    },

    /** GET /api/shows: a page of shows by start time, `[]` when there are none. */
    list: {
      async handler(ctx: Context<unknown, RequestMeta>): Promise<ShowView[]> {
        const query = validate(ShowsQuery, ctx.params);
        return replyPage(ctx.meta, await shows.listPage(this.db, query));
      },
    },

    /** GET /api/shows/:show_id: one show with its seats still for sale; 400 bad id, 404 unknown. */
    get: {
      async handler(ctx: Context<{ show_id?: unknown }>): Promise<ShowView> {
        const id = Uuid.safeParse(ctx.params.show_id);
        if (!id.success) throw new HttpError(400, "invalid show ID format");
        const show = await shows.get(this.db, id.data);
        if (!show) throw new HttpError(404, "show not found");
        return show;
      },
    },
  },
};

export default ShowsService;
