import test from "ava";
import type { Page } from "playwright-core";
import { randomUUID } from "node:crypto";
import { bearer, createStaff, type StaffMember } from "../access/staff.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";
import { launchBrowser, screenshotBothWidths, type Browser } from "./browser.ts";

// One staff member's day in a real Chromium against the whole system (real Postgres, JetStream,
// Redis; only the gateway is the HTTP simulator). The steps share state and run in order; each
// names what it needs from the one before, so a failure says which step broke. Access control is on
// (a partner signing secret is configured) and the staff member signs in as an operator first.

let sys: TestSystem;
let operator: StaffMember;
let browser: Browser;
let page: Page;
/** A second tab that stays on the ops report for the whole flow: it must update without reloads. */
let opsTab: Page;
const scriptErrors: string[] = [];

const flow: { showId?: string; bookingId?: string; tickets: string[] } = { tickets: [] };
const customerEmail = "fan@example.com";

test.before(async (t) => {
  // Logged so a slow or hung start on a busy machine says which half it was.
  let started = Date.now();
  sys = await startTestSystem({ env: { PARTNER_SIGNING_SECRET: `partner-${randomUUID()}` } });
  operator = await createStaff(sys, "operator");
  t.log(`system started in ${Date.now() - started} ms`);
  started = Date.now();
  browser = await launchBrowser();
  t.log(`Chromium started in ${Date.now() - started} ms`);
  page = await browser.newPage();
  opsTab = await browser.newPage();
  for (const tab of [page, opsTab]) tab.on("pageerror", (error) => scriptErrors.push(error.message));
});

/** A failed step leaves pictures of both tabs to look at. */
test.afterEach.always(async (t) => {
  if (t.passed || !page) return;
  const name = `failed-${t.title.replace(/[^a-z0-9]+/gi, "-").slice(0, 60)}`;
  await screenshotBothWidths(page, name).catch(() => undefined);
  await screenshotBothWidths(opsTab, `${name}-ops-tab`).catch(() => undefined);
});

test.after.always(async () => {
  await browser?.close();
  await sys?.stop();
});

function needs<K extends keyof typeof flow>(key: K, step: string): NonNullable<(typeof flow)[K]> {
  const value = flow[key];
  if (value === undefined || (Array.isArray(value) && value.length === 0))
    throw new Error(`needs ${key} from the step "${step}", which did not complete`);
  return value as NonNullable<(typeof flow)[K]>;
}

const fieldError = (p: Page, field: string) => p.locator(`[data-field="${field}"] .field__error`);
const toast = (p: Page, text: string | RegExp) => p.locator(".toast", { hasText: text });
const opsTicketRow = (ticketId: string) => opsTab.locator(`section[data-booking-id] tr[data-ticket-id="${ticketId}"]`);

/** Waits for the next API response of this method and path, and returns its JSON body. */
async function apiResponse(p: Page, method: string, path: string, action: () => Promise<void>) {
  const [response] = await Promise.all([
    p.waitForResponse((r) => r.request().method() === method && new URL(r.url()).pathname === path),
    action(),
  ]);
  return { status: response.status(), body: await response.json().catch(() => null) };
}

test.serial("signing in as an operator opens the console", async (t) => {
  await page.goto(`${sys.url}/#/shows`);
  await page.getByLabel("User name").fill(operator.username);
  await page.getByLabel("Password").fill(operator.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("h1", { hasText: "Shows" }).waitFor();
  t.is(await page.locator("#site-user-name").textContent(), `${operator.username} (operator)`);
});

test.serial("empty states: no shows, no tickets, no bookings", async (t) => {
  await page.goto(`${sys.url}/#/shows`);
  await page.locator(".state--empty", { hasText: "No upcoming shows yet." }).waitFor();
  t.is(await page.locator("tr[data-show-id]").count(), 0);
  await page.goto(`${sys.url}/#/tickets`);
  await page.locator(".state--empty", { hasText: "No tickets yet. Book some tickets first!" }).waitFor();
  t.is(await page.locator("tr[data-ticket-id]").count(), 0);
  await page.goto(`${sys.url}/#/ops`);
  await page.locator(".state--empty", { hasText: "No bookings yet." }).waitFor();
  t.is(await page.locator("section[data-booking-id]").count(), 0);
  await screenshotBothWidths(page, "ops-empty");
});

test.serial("Shows: a deep link opens the page, the API's validation shows next to each field, a created show is listed", async (t) => {
  await page.goto(`${sys.url}/app/shows`);
  t.is(new URL(page.url()).hash, "#/shows");
  t.is(await page.locator("h1").textContent(), "Shows");

  await page.getByLabel("Number of tickets").fill("0");
  const refused = await apiResponse(page, "POST", "/api/shows", () => page.getByRole("button", { name: "Create show" }).click());
  t.is(refused.status, 400);
  const problems: { field: string; message: string }[] = refused.body.details;
  t.deepEqual(problems.map((p) => p.field).sort(), ["number_of_tickets", "start_time", "title", "venue"]);
  for (const problem of problems) t.is(await fieldError(page, problem.field).textContent(), problem.message, problem.field);
  t.is(await page.getByLabel("Title").getAttribute("aria-invalid"), "true");
  await screenshotBothWidths(page, "shows-validation");

  await page.getByLabel("Title").fill("Browser Test Show");
  await page.getByLabel("Venue").fill("Test Hall");
  await page.getByLabel("Number of tickets").fill("10");
  await page.getByLabel("Start time").fill("2026-12-24T20:00");
  const created = await apiResponse(page, "POST", "/api/shows", () => page.getByRole("button", { name: "Create show" }).click());
  t.is(created.status, 201);
  await toast(page, "Show “Browser Test Show” created").waitFor();
  t.is(await fieldError(page, "title").textContent(), "", "old errors are cleared");

  const row = page.locator("tr[data-show-id]", { hasText: "Browser Test Show" });
  await row.waitFor();
  flow.showId = (await row.getAttribute("data-show-id"))!;
  t.is(flow.showId, created.body.show_id);
  t.is(await row.locator('[data-label="Remaining"]').textContent(), "10");
  await screenshotBothWidths(page, "shows");
});

test.serial("Book tickets: remaining seats shown, too many refused next to the count, a booking updates the remaining seats", async (t) => {
  const showId = needs("showId", "Shows");
  await page.goto(`${sys.url}/#/book`);
  await page.getByLabel("Show").selectOption(showId);
  const available = page.locator(".availability");
  t.is(await available.textContent(), "Available tickets: 10 of 10");

  await page.getByLabel("Number of tickets").fill("11");
  await page.getByLabel("Customer email").fill(customerEmail);
  const refused = await apiResponse(page, "POST", "/api/book-tickets", () => page.getByRole("button", { name: "Book tickets" }).click());
  t.is(refused.status, 400);
  t.is(await fieldError(page, "number_of_tickets").textContent(), refused.body.error);

  await page.getByLabel("Number of tickets").fill("2");
  const booked = await apiResponse(page, "POST", "/api/book-tickets", () => page.getByRole("button", { name: "Book tickets" }).click());
  t.is(booked.status, 201);
  const confirmation = page.locator("[data-booking-id]");
  await confirmation.waitFor();
  flow.bookingId = (await confirmation.getAttribute("data-booking-id"))!;
  t.is(flow.bookingId, booked.body.booking_id);
  await available.filter({ hasText: "Available tickets: 8 of 10" }).waitFor();
  await screenshotBothWidths(page, "book");
});

test.serial("Ops report (a second tab that stays open): the new booking is listed, still without tickets", async (t) => {
  const bookingId = needs("bookingId", "Book tickets");
  await opsTab.goto(`${sys.url}/#/ops`);
  await opsTab.evaluate(() => ((window as unknown as { loadedOnce: boolean }).loadedOnce = true));
  const card = opsTab.locator(`section[data-booking-id="${bookingId}"]`);
  await card.waitFor();
  t.true((await card.textContent())!.includes("No tickets yet"));
});

test.serial(
  "Pending callbacks: the API's field error for a bad price, two confirmations, and a replay with the same key changes nothing",
  async (t) => {
    const bookingId = needs("bookingId", "Book tickets");
    await page.getByRole("link", { name: "send a confirmation on Pending callbacks" }).click();
    await page.locator("h1", { hasText: "Pending callbacks" }).waitFor();
    t.is(await page.getByLabel("Booking ID").inputValue(), bookingId);
    t.is(await page.getByLabel("Customer email").inputValue(), customerEmail);

    await page.getByLabel("Price amount").fill("abc");
    const refused = await apiResponse(page, "POST", "/api/tickets-status", () =>
      page.getByRole("button", { name: "Send callback" }).click(),
    );
    t.is(refused.status, 400);
    const amountProblem = refused.body.details.find((d: { field: string }) => d.field === "tickets.0.price.amount");
    t.truthy(amountProblem, JSON.stringify(refused.body));
    t.is(await fieldError(page, "price.amount").textContent(), amountProblem.message);

    await page.getByLabel("Price amount").fill("45.50");
    await page.getByLabel("Currency").selectOption("GBP");
    const firstTicket = await page.getByLabel("Ticket ID").inputValue();
    const accepted = await apiResponse(page, "POST", "/api/tickets-status", () =>
      page.getByRole("button", { name: "Send callback" }).click(),
    );
    t.is(accepted.status, 200);
    await toast(page, `Callback accepted: ticket ${firstTicket} confirmed.`).waitFor();
    flow.tickets.push(firstTicket);

    await page.getByRole("button", { name: "Send callback" }).click();
    await toast(page, "Replayed: this key was already used").waitFor();
    await page.locator(`.sent-list li[data-ticket-id="${firstTicket}"] .badge`, { hasText: "replayed" }).waitFor();

    const keyBefore = await page.getByLabel("Idempotency key").inputValue();
    await page.getByRole("button", { name: "Generate", exact: true }).click();
    await page.getByRole("button", { name: "Generate New" }).click();
    const secondTicket = await page.getByLabel("Ticket ID").inputValue();
    t.not(secondTicket, firstTicket);
    t.not(await page.getByLabel("Idempotency key").inputValue(), keyBefore);
    await page.getByRole("button", { name: "Send callback" }).click();
    await toast(page, `Callback accepted: ticket ${secondTicket} confirmed.`).waitFor();
    flow.tickets.push(secondTicket);
    t.is(await page.locator(".sent-list li").count(), 3);
    await screenshotBothWidths(page, "pending");
  },
);

test.serial("Ops report: confirmed, printed and receipt times fill in for both tickets without a reload", async (t) => {
  const tickets = needs("tickets", "Pending callbacks");
  if (tickets.length < 2) throw new Error('needs two tickets from the step "Pending callbacks"');
  for (const ticketId of tickets) {
    const row = opsTicketRow(ticketId);
    for (const column of ["col-confirmed", "col-printed", "col-receipt"]) await row.locator(`td.${column}[data-set="true"]`).waitFor();
    t.not(await row.locator("td.col-receipt-number").textContent(), "-");
    t.is(await row.locator("td.col-file").textContent(), `${ticketId}-ticket.html`);
    t.is(await row.locator("td.col-refunded").textContent(), "-");
    t.is(await row.locator('[data-label="Price"]').textContent(), "45.50 GBP");
  }
  t.true(
    await opsTab.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce === true),
    "the ops tab was never reloaded",
  );
  t.true((await opsTab.locator(".live").textContent())!.startsWith("Live"));

  // The replayed callback added no second effect at the gateway.
  const receipts = [...sys.sim.state.receipts.values()];
  for (const ticketId of tickets) t.is(receipts.filter((r) => r.ticket_id === ticketId).length, 1, `one receipt for ${ticketId}`);
  const printed = [...sys.sim.state.files.keys()];
  for (const ticketId of tickets) t.is(printed.filter((id) => id.startsWith(ticketId)).length, 1, `one printed file for ${ticketId}`);
  await screenshotBothWidths(opsTab, "ops");
});

test.serial("Ops report: filtering by receipt date keeps matching bookings and says when none match", async (t) => {
  const bookingId = needs("bookingId", "Book tickets");
  const tickets = needs("tickets", "Pending callbacks");
  const { body } = await sys.http("GET", `/api/ops/bookings/${bookingId}`, undefined, bearer(operator.token));
  const receiptDate = String(body.tickets[tickets[0]!].receipt_issued_at).slice(0, 10);

  // Each page draws its filter form at once and again when the shows arrive: fill it after that,
  // or the Filter button clicked can be the one being replaced, and nothing navigates.
  const formWithShows = () => page.locator("#ops-show option").nth(1).waitFor({ state: "attached" });
  await page.goto(`${sys.url}/#/ops`);
  await formWithShows();
  await page.getByLabel("Receipt issued on").fill(receiptDate);
  // The filter lives in the URL and re-renders the page; wait for the new page (its Clear button),
  // or the old, unfiltered one could answer the checks.
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL((url) => url.hash === `#/ops?receipt_issue_date=${receiptDate}`);
  await page.getByRole("button", { name: "Clear" }).waitFor();
  await page.locator(`section[data-booking-id="${bookingId}"]`).waitFor();

  await formWithShows();
  await page.getByLabel("Receipt issued on").fill("2001-01-01");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.waitForURL((url) => url.hash === "#/ops?receipt_issue_date=2001-01-01");
  await page.locator(".state--empty", { hasText: "No bookings with a receipt issued on 2001-01-01." }).waitFor();
  t.is(await page.locator("section[data-booking-id]").count(), 0);

  await page.getByRole("button", { name: "Clear" }).click();
  await page.waitForURL((url) => url.hash === "#/ops");
  await page.getByRole("button", { name: "Clear" }).waitFor({ state: "detached" });
  await page.locator(`section[data-booking-id="${bookingId}"]`).waitFor();
});

test.serial("an error from the API is shown with a way to retry: a malformed date in an ops report link", async (t) => {
  const refused = await sys.http("GET", "/api/ops/bookings?receipt_issue_date=2026-13-45", undefined, bearer(operator.token));
  t.is(refused.status, 400);
  await page.goto(`${sys.url}/#/ops?receipt_issue_date=2026-13-45`);
  const alert = page.getByRole("alert");
  await alert.waitFor();
  t.is(await alert.locator("p").textContent(), `Could not load. ${refused.body.error}`);
  t.true(await alert.getByRole("button", { name: "Try again" }).isVisible());
  t.is(await page.locator(".live").textContent(), "Retrying…");
});

test.serial(
  "Tickets: a refund asks for confirmation, Cancel sends nothing, and the refunded ticket is marked in the list and the ops report",
  async (t) => {
    const tickets = needs("tickets", "Pending callbacks");
    const [refunded, kept] = tickets as [string, string];
    await page.goto(`${sys.url}/#/tickets`);
    const row = page.locator(`tr[data-ticket-id="${refunded}"]`);
    await row.waitFor();
    await page.locator(`tr[data-ticket-id="${kept}"]`).waitFor();

    const dialog = page.getByRole("dialog", { name: "Refund this ticket?" });
    await row.getByRole("button", { name: "Refund" }).click();
    await dialog.waitFor();
    t.true((await dialog.textContent())!.includes(refunded));
    await screenshotBothWidths(page, "tickets-refund-dialog");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "hidden" });

    await row.getByRole("button", { name: "Refund" }).click();
    const accepted = await apiResponse(page, "PUT", `/api/ticket-refund/${refunded}`, () =>
      dialog.getByRole("button", { name: "Refund ticket" }).click(),
    );
    t.is(accepted.status, 202);
    await dialog.waitFor({ state: "hidden" });
    await toast(page, `Refund requested for ticket ${refunded}.`).waitFor();

    const refundedRow = opsTicketRow(refunded);
    await refundedRow.locator('td.col-refunded[data-set="true"]').waitFor();
    t.true(
      await refundedRow.locator('[data-label="Price"]').evaluate((cell) => cell.classList.contains("struck")),
      "a refunded price is struck through",
    );
    t.is(await opsTicketRow(kept).locator("td.col-refunded").textContent(), "-");

    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator(`tr[data-ticket-id="${refunded}"] .badge`, { hasText: "Refunded" }).waitFor();
    t.true(await page.locator(`tr[data-ticket-id="${refunded}"]`).getByRole("button", { name: "Refund" }).isDisabled());
    t.is(await page.locator(`tr[data-ticket-id="${kept}"] .badge`).textContent(), "Valid");

    // One void and one payment refund at the gateway: Cancel sent nothing, the refund went once.
    t.is([...sys.sim.state.voids.values()].filter((v) => v.ticket_id === refunded).length, 1);
    t.is([...sys.sim.state.refunds.values()].filter((r) => r.payment_reference === refunded).length, 1);
    t.is([...sys.sim.state.voids.values()].filter((v) => v.ticket_id === kept).length, 0);
    await screenshotBothWidths(page, "tickets");
    await screenshotBothWidths(opsTab, "ops-refunded");
  },
);

test.serial("no script errors in either tab", (t) => {
  t.deepEqual(scriptErrors, []);
});
