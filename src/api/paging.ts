// Query fields shared by every list endpoint: keyset pagination, newest first.
import { t } from "elysia";

export const pageQuery = {
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 500, description: "page size (default 50)" })),
  before: t.Optional(t.Integer({ minimum: 1, description: "the `next` value of the previous page" })),
};
