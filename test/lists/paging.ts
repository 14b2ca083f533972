import type { TestSystem } from "../support/system.ts";

/** The path of a `Link: <…>; rel="next"` header, if any. */
export function nextPath(link: string | null): string | undefined {
  return link?.match(/^<([^>]+)>; rel="next"$/)?.[1];
}

/** Follows `rel="next"` from `path` to the last page; `between` runs after each page is read. */
export async function allPages(
  sys: TestSystem,
  path: string,
  between: () => Promise<void> = async () => undefined,
): Promise<{ items: any[]; pages: number[] }> {
  const items: any[] = [];
  const pages: number[] = [];
  for (let next: string | undefined = path; next; ) {
    const page = await sys.http("GET", next);
    if (page.status !== 200) throw new Error(`GET ${next} answered ${page.status}: ${page.text}`);
    items.push(...page.body);
    pages.push(page.body.length);
    next = nextPath(page.headers.get("link"));
    await between();
  }
  return { items, pages };
}
