// Keep-alive balance, the master's side (src/balance.ts): who sheds how many.
import { SETTLE_MAX_MS, SETTLE_MS, Settling, shedPlan } from '../../src/balance.js';

test.each<[number[], number[]]>([
  [[64, 0], [32, 0]], // one worker holds all: it keeps its share
  [[50, 14], [18, 0]],
  [[36, 28], [0, 0]], // within the slack (share 32 + 4)
  [[37, 27], [5, 0]],
  [[10, 6], [0, 0]], // small counts: the slack is at least 2 connections
  [[11, 5], [3, 0]],
  [[30, 0, 0], [20, 0, 0]],
  [[20, 20, 2], [6, 6, 0]], // share 14, slack 2: the third worker is starved
  [[15, 14, 13], [0, 0, 0]],
  [[0, 0], [0, 0]],
  [[5], [0]], // one worker: nowhere to go
])('kept %j → shed %j', (kept, shed) => {
  expect(shedPlan(kept).shed).toEqual(shed);
});

test('the share is what an even split leaves each worker', () => {
  expect(shedPlan([50, 14]).share).toBe(32);
  expect(shedPlan([30, 0, 1]).share).toBe(11);
});

test('no plan until the total count has held for SETTLE_MS: a burst of connections is counted while it comes in', () => {
  const s = new Settling();
  expect(s.wait(0, 1000)).toBe(0); // nothing yet, nothing moving
  expect(s.wait(13, 1000)).toBe(SETTLE_MS); // a burst starts
  expect(s.wait(40, 1020)).toBe(SETTLE_MS); // still growing: the clock starts again
  expect(s.wait(40, 1050)).toBe(SETTLE_MS - 30);
  expect(s.wait(40, 1020 + SETTLE_MS)).toBe(0); // held: plan
  expect(s.wait(40, 5000)).toBe(0);
  expect(s.wait(39, 5001)).toBe(SETTLE_MS); // a connection closed: wait again
});

test('while the count keeps moving (connections coming and going all the time), a plan still comes every SETTLE_MAX_MS', () => {
  const s = new Settling();
  let t = 1000;
  const waits: number[] = [];
  // A change every 10 ms: the total never holds for SETTLE_MS.
  for (let i = 0; t < 1000 + 2 * SETTLE_MAX_MS; i++, t += 10) waits.push(s.wait(50 + (i % 3), t));
  const plans = waits.map((w, i) => (w === 0 ? 1000 + i * 10 : -1)).filter((x) => x >= 0);
  expect(plans).toEqual([1000 + SETTLE_MAX_MS]); // none before, one at the limit
  expect(s.wait(51, t)).toBeGreaterThan(0); // and the clock starts again
});
