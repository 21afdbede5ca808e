import { expect, test } from "bun:test";
import { Counter, Gauge, Histogram, MetricsRegistry } from "../../src/lib/metrics.ts";

test("renders the Prometheus text format exactly", () => {
  const registry = new MetricsRegistry();
  const counter = registry.register(new Counter("goosed_things_total", "Things seen"));
  counter.inc({ kind: 'a"b' });
  counter.inc({ kind: 'a"b' }, 2);
  registry.register(new Gauge("goosed_depth", "Depth", () => [{ labels: { state: "queued" }, value: 3 }]));
  const histogram = registry.register(new Histogram("goosed_seconds", "Durations", [0.1, 1]));
  histogram.observe({ route: "/x" }, 0.05);
  histogram.observe({ route: "/x" }, 5);
  expect(registry.render()).toBe(
    [
      "# HELP goosed_things_total Things seen",
      "# TYPE goosed_things_total counter",
      'goosed_things_total{kind="a\\"b"} 3',
      "# HELP goosed_depth Depth",
      "# TYPE goosed_depth gauge",
      'goosed_depth{state="queued"} 3',
      "# HELP goosed_seconds Durations",
      "# TYPE goosed_seconds histogram",
      'goosed_seconds_bucket{route="/x",le="0.1"} 1',
      'goosed_seconds_bucket{route="/x",le="1"} 1',
      'goosed_seconds_bucket{route="/x",le="+Inf"} 2',
      'goosed_seconds_sum{route="/x"} 5.05',
      'goosed_seconds_count{route="/x"} 2',
      "",
    ].join("\n"),
  );
});
