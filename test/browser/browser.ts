import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** Debian's Chromium; playwright-core downloads no browser of its own. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const installHint = "apt-get update && apt-get install -y chromium";

const launchArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile. Fails loudly (never skips) when the browser is missing
 * or does not start, naming the install command.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`Chromium not found at ${chromiumPath}; install it with: ${installHint} (or set CHROMIUM_PATH)`);
  }
  const userDataDir = await mkdtemp(join(tmpdir(), "tickets-ui-"));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: chromiumPath,
      headless: true,
      args: launchArgs,
      locale: "en-GB",
      timezoneId: "UTC",
      viewport: { width: 1440, height: 900 },
    });
  } catch (error) {
    await rm(userDataDir, { recursive: true, force: true });
    throw new Error(`Chromium at ${chromiumPath} did not start: ${(error as Error).message}`);
  }
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

export const screenshotDir = join(import.meta.dirname, "../../test-output/screenshots");
export const viewports = { narrow: { width: 390, height: 844 }, wide: { width: 1440, height: 900 } } as const;

/** Full-page PNGs of the current page at the narrow and wide widths, named `<name>-narrow.png` / `-wide.png`. */
export async function screenshotBothWidths(page: Page, name: string): Promise<string[]> {
  await mkdir(screenshotDir, { recursive: true });
  const original = page.viewportSize();
  const files: string[] = [];
  for (const [width, size] of Object.entries(viewports)) {
    await page.setViewportSize(size);
    const file = join(screenshotDir, `${name}-${width}.png`);
    // Toasts are fixed to the viewport and would cover the middle of a full-page image.
    await page.screenshot({ path: file, fullPage: true, animations: "disabled", style: ".toasts { display: none; }" });
    files.push(file);
  }
  if (original) await page.setViewportSize(original);
  return files;
}
