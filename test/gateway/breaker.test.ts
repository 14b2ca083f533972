// The per-partner circuit breaker on a fake clock: a run of failures opens it, a cool-down passes
// with no calls, one trial call is let through, and its answer closes the circuit or doubles the pause.
import test from "ava";
import { createBreaker } from "../../adapters/gateway-client/breaker.ts";

function clockedBreaker() {
  let now = 0;
  const breaker = createBreaker({ failures: 3, cooldownMs: 1_000, maxCooldownMs: 4_000, now: () => now });
  return { breaker, advance: (ms: number) => (now += ms) };
}

test("fewer failures in a row than the threshold keep the circuit closed; a success resets the run", (t) => {
  const { breaker } = clockedBreaker();
  breaker.failed();
  breaker.failed();
  breaker.succeeded();
  breaker.failed();
  breaker.failed();
  t.true(breaker.admit());
});

test("an open circuit admits nothing during its cool-down, then one trial; a failed trial doubles the pause up to the cap", (t) => {
  const { breaker, advance } = clockedBreaker();
  for (let i = 0; i < 3; i++) breaker.failed();
  t.false(breaker.admit());
  advance(999);
  t.false(breaker.admit());
  advance(1);
  t.true(breaker.admit());
  t.false(breaker.admit(), "only one trial at a time");
  breaker.failed();
  advance(1_999);
  t.false(breaker.admit());
  advance(1);
  t.true(breaker.admit());
  breaker.failed();
  advance(4_000);
  t.true(breaker.admit());
  breaker.failed();
  advance(3_999);
  t.false(breaker.admit(), "the pause stays at its cap");
  advance(1);
  t.true(breaker.admit());
});

test("a successful trial closes the circuit and restores the first cool-down", (t) => {
  const { breaker, advance } = clockedBreaker();
  for (let i = 0; i < 3; i++) breaker.failed();
  advance(1_000);
  t.true(breaker.admit());
  breaker.succeeded();
  t.true(breaker.admit());
  t.true(breaker.admit());
  for (let i = 0; i < 3; i++) breaker.failed();
  advance(1_000);
  t.true(breaker.admit());
});
