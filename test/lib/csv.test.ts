import { expect, test } from "bun:test";
import { parseCsv } from "../../src/lib/csv.ts";

test("records keep the line they start on; quotes, doubled quotes, CRLF and embedded newlines", () => {
  const text = 'hostname,mac,labels\r\nn1,aa:bb:cc:dd:ee:01,"rack=r1;row=2"\r\n\r\n"n""2",x,"two\nlines"\nn3,y,z';
  expect(parseCsv(text)).toEqual({
    ok: true,
    records: [
      { line: 1, fields: ["hostname", "mac", "labels"] },
      { line: 2, fields: ["n1", "aa:bb:cc:dd:ee:01", "rack=r1;row=2"] },
      { line: 4, fields: ['n"2', "x", "two\nlines"] },
      { line: 6, fields: ["n3", "y", "z"] },
    ],
  });
});

test("empty trailing fields survive", () => {
  expect(parseCsv("a,,\n")).toEqual({ ok: true, records: [{ line: 1, fields: ["a", "", ""] }] });
});

test.each([
  ["unclosed quote", 'a,"b\nc', 1, "quoted field is never closed"],
  ["text after closing quote", 'a\n"b"x,c', 2, "text after a closing quote; double a quote inside a quoted field"],
])("%s is refused with its line", (_name, text, line, reason) => {
  expect(parseCsv(text)).toEqual({ ok: false, line, reason });
});
