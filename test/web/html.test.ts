// The status page's HTML builder: every interpolated value comes out escaped, nested markup does not.
import { describe, expect, test } from "bun:test";
import { escapeHtml, html, raw } from "../../src/web/index.ts";

describe("html", () => {
  test("hostile strings are escaped (golden)", () => {
    const hostile = `<script>alert("x")</script> & 'quoted'`;
    expect(html`<td>${hostile}</td>`.value).toBe("<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quoted&#39;</td>");
    expect(html`<a href="${'" onclick="evil()'}">x</a>`.value).toBe('<a href="&quot; onclick=&quot;evil()">x</a>');
    expect(escapeHtml("&amp;")).toBe("&amp;amp;");
  });

  test("nested html and raw are kept; arrays join; null, undefined and false vanish; numbers print", () => {
    const rows = ["a<b", "c&d"].map((s) => html`<li>${s}</li>`);
    expect(html`<ul>${rows}</ul>`.value).toBe("<ul><li>a&lt;b</li><li>c&amp;d</li></ul>");
    expect(html`${raw("<br>")}${null}${undefined}${false}${0}`.value).toBe("<br>0");
  });
});
