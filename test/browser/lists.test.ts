import test from "ava";
import type { Page } from "playwright-core";
import { insertSeason } from "../lists/seed-rows.ts";
import { startTestSystem, type TestSystem } from "../support/system.ts";
import { launchBrowser, screenshotBothWidths, type Browser } from "./browser.ts";

// The staff console over a season's volume: 7 000 bookings and 10 500 tickets of one show, and a
// small second show to filter for. Lists page through the API; the sales picture is drawn.

let sys: TestSystem;
let browser: Browser;
let page: Page;
let bigShow: string;
let smallShow: string;
const scriptErrors: string[] = [];

test.before(async () => {
  sys = await startTestSystem({ env: { SERVICES: "api,tickets,shows,ops" } });
  bigShow = await insertSeason(sys.node.runtime.db, { bookings: 7_000, doubles: 3_500 });
  smallShow = await insertSeason(sys.node.runtime.db, { bookings: 3, doubles: 1, title: "Jazz night", domain: "jazz.example" });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on("pageerror", (error) => scriptErrors.push(error.message));
});

test.afterEach.always(async (t) => {
  if (!t.passed && page) await screenshotBothWidths(page, `failed-lists-${t.title.replace(/[^a-z0-9]+/gi, "-").slice(0, 50)}`);
});

test.after.always(async () => {
  await browser?.close();
  await sys?.stop();
});

const cards = () => page.locator("section[data-booking-id]");
const ticketRows = () => page.locator("tr[data-ticket-id]");

test.serial("Ops report with 7 000 bookings: the first page, each card naming its show, then more on Load more", async (t) => {
  await page.goto(`${sys.url}/#/ops`);
  await page.locator(".pager__count", { hasText: "20 bookings shown · more available" }).waitFor();
  t.is(await cards().count(), 20);
  await page.locator(".booking__show", { hasText: "Season finale · Big Hall" }).first().waitFor();

  await page.getByRole("button", { name: "Load more bookings" }).click();
  await page.locator(".pager__count", { hasText: "40 bookings shown · more available" }).waitFor();
  t.is(await cards().count(), 40);
  const ids = await cards().evaluateAll((sections) => sections.map((s) => (s as HTMLElement).dataset.bookingId));
  t.is(new Set(ids).size, 40, "no booking twice");
  await screenshotBothWidths(page, "lists-ops");
});

test.serial("Ops report: filtering by show keeps only that show's bookings", async (t) => {
  await page.goto(`${sys.url}/#/ops`);
  await page.locator("#ops-show option", { hasText: "Jazz night" }).waitFor({ state: "attached" });
  await page.getByLabel("Show").selectOption(smallShow);
  await page.getByRole("button", { name: "Filter" }).click();
  await page.locator(".pager__count", { hasText: "3 bookings shown · that is all" }).waitFor();
  t.is(await cards().count(), 3);
  // Each card's show line fills in once the show is read.
  await page.locator(".booking__show", { hasText: "Jazz night" }).nth(2).waitFor();
  t.is(await page.locator(".booking__show", { hasText: "Jazz night" }).count(), 3);
  t.false(await page.getByRole("button", { name: "Load more bookings" }).isVisible());
});

test.serial("Tickets: newest first a page at a time, and found by customer email and by show", async (t) => {
  await page.goto(`${sys.url}/#/tickets`);
  await page.locator(".pager__count", { hasText: "50 tickets shown · more available" }).waitFor();
  t.is(await ticketRows().count(), 50);
  t.is(await ticketRows().first().locator("td").nth(2).textContent(), "customer7000@example.com", "the newest confirmation first");
  await page.getByRole("button", { name: "Load more tickets" }).click();
  await page.locator(".pager__count", { hasText: "100 tickets shown · more available" }).waitFor();
  t.is(await ticketRows().count(), 100);
  await screenshotBothWidths(page, "lists-tickets");

  await page.getByLabel("Customer email").fill("Customer1@Jazz.Example");
  await page.getByRole("button", { name: "Search" }).click();
  await page.locator(".pager__count", { hasText: "2 tickets shown · that is all" }).waitFor();
  t.deepEqual(await ticketRows().locator("td:nth-child(3)").allTextContents(), ["customer1@jazz.example", "customer1@jazz.example"]);

  await page.getByRole("button", { name: "Clear" }).click();
  await page.locator("#tickets-show option", { hasText: "Season finale" }).waitFor({ state: "attached" });
  await page.getByLabel("Show").selectOption(bigShow);
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForURL(/show_id=/);
  await page.locator(".pager__count", { hasText: "50 tickets shown · more available" }).waitFor();
  t.false((await ticketRows().locator("td:nth-child(3)").allTextContents()).some((email) => email.endsWith("@jazz.example")));
});

test.serial("Sales: the show's tickets sold over time, seats left and the fulfilment funnel are drawn", async (t) => {
  await page.goto(`${sys.url}/#/shows`);
  await page.locator(`tr[data-show-id="${bigShow}"]`).getByRole("link", { name: "Sales" }).click();
  await page.locator("svg.chart--sold").waitFor();
  t.is(await page.locator('[data-stat="left"] dd').textContent(), "100");
  t.is(await page.locator('[data-stat="confirmed"] dd').textContent(), "10500");
  t.regex((await page.locator("svg.chart--sold title").textContent()) ?? "", /10500 of 10600 tickets sold; 100 seats left/);
  t.is(await page.locator('[data-step="printed"] .chart__count').textContent(), "10500 (100%)");
  t.is(await page.locator('[data-step="receipt"] .chart__median').textContent(), "median 4 s");
  t.is(await page.locator('[data-step="refunded"] .chart__count').textContent(), "0 (0%)");
  await screenshotBothWidths(page, "lists-sales");
});

test.serial("Shows and Book: upcoming shows only, nothing preselected; screenshots of both", async (t) => {
  await sys.http("POST", "/api/shows", {
    dead_nation_id: crypto.randomUUID(),
    number_of_tickets: 10,
    start_time: "2001-01-01T20:00:00Z",
    title: "Long gone",
    venue: "Old Hall",
  });
  await page.goto(`${sys.url}/#/shows`);
  await page.locator(`tr[data-show-id="${bigShow}"]`).waitFor();
  t.is(await page.locator("tr", { hasText: "Long gone" }).count(), 0, "past shows are hidden by default");
  await page.getByLabel("Upcoming only").uncheck();
  await page.locator("tr", { hasText: "Long gone" }).waitFor();
  await screenshotBothWidths(page, "lists-shows");

  await page.goto(`${sys.url}/#/book`);
  const select = page.getByLabel("Show");
  await select.waitFor();
  t.is(await select.inputValue(), "", "no show chosen for the user");
  const options = await select.locator("option").allTextContents();
  t.false(options.some((label) => label.includes("Long gone")));
  t.true(options.some((label) => label.includes("Jazz night")));
  await page.getByRole("button", { name: "Book tickets" }).click();
  t.is(await page.locator('[data-field="show_id"] .field__error').textContent(), "Choose a show");
  await screenshotBothWidths(page, "lists-book");
});

test.serial("a notice is gone once the user moves to another page", async (t) => {
  await page.goto(`${sys.url}/#/shows`);
  await page.getByLabel("Title").fill("Notice check");
  await page.getByLabel("Venue").fill("Small Hall");
  await page.getByLabel("Number of tickets").fill("5");
  await page.getByLabel("Start time").fill("2035-06-01T20:00");
  await page.getByRole("button", { name: "Create show" }).click();
  await page.locator(".toast", { hasText: "Show “Notice check” created" }).waitFor();
  await page.getByRole("link", { name: "Tickets", exact: true }).click();
  await page.locator(".pager__count").waitFor();
  t.is(await page.locator(".toast").count(), 0);
  t.deepEqual(scriptErrors, []);
});
