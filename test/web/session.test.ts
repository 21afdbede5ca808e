// Status-page sessions on a clock the test turns: the sliding expiry, an end by logout, and fresh secrets each time.
import { expect, test } from "bun:test";
import { SESSION_TTL_MS, SessionStore } from "../../src/web/session.ts";

const token = { id: "tok_1", name: "alice", scopes: ["read"] as const };

test("a session lives for the TTL after its last use, then is gone for good", () => {
  let now = 1_000_000;
  const sessions = new SessionStore(SESSION_TTL_MS, () => now);
  const session = sessions.create(token);
  now += SESSION_TTL_MS - 1;
  expect(sessions.touch(session.id)?.tokenName).toBe("alice");
  // That use pushed the expiry out again: another almost-TTL later it still answers.
  now += SESSION_TTL_MS - 1;
  expect(sessions.touch(session.id)).not.toBeNull();
  now += SESSION_TTL_MS;
  expect(sessions.touch(session.id)).toBeNull();
  now -= SESSION_TTL_MS;
  expect(sessions.touch(session.id)).toBeNull();
  expect(sessions.size).toBe(0);
});

test("logout ends a session; unknown and missing ids find nothing", () => {
  const sessions = new SessionStore();
  const session = sessions.create(token);
  sessions.end(session.id);
  expect(sessions.touch(session.id)).toBeNull();
  expect(sessions.touch("not-a-session")).toBeNull();
  expect(sessions.touch(undefined)).toBeNull();
});

test("each session has its own 256-bit id and CSRF token, and they differ", () => {
  const sessions = new SessionStore();
  const a = sessions.create(token);
  const b = sessions.create(token);
  for (const s of [a, b]) {
    expect(s.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.csrf).not.toBe(s.id);
  }
  expect(a.id).not.toBe(b.id);
  expect(a.csrf).not.toBe(b.csrf);
});
