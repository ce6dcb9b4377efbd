#!/usr/bin/env node
// Renders a results JSON again, e.g. after a change to the report's layout:
//   node bench/render.mjs bench/out/results-<time>.json [--md FILE]   (default bench/results.md)
import fs from 'node:fs';
import path from 'node:path';
import { renderMarkdown, RESULTS_MD } from './report.mjs';

const [file, flag, out] = process.argv.slice(2);
if (!file || (flag && flag !== '--md') || (flag && !out)) {
  console.error('usage: node bench/render.mjs <results.json> [--md FILE]');
  process.exit(2);
}
const md = path.resolve(out ?? RESULTS_MD);
fs.writeFileSync(md, renderMarkdown(JSON.parse(fs.readFileSync(file, 'utf8'))));
console.log(`wrote ${md}`);
