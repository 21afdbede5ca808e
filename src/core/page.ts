// Keyset pagination: lists are newest first and a page's `next` is the id to continue before.

export interface Page<T> {
  items: T[];
  next: number | null;
}

/** `rows` was fetched with `limit + 1`, so one extra row says whether another page exists. */
export function pageOf<T extends { id: number }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? items.at(-1)!.id : null };
}
