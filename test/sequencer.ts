import { readFileSync } from 'node:fs';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** 0: a journey file (many tabs, often a restarted browser); 1: another file that drives Chromium; 2: the rest. */
function rankOf(source: string): number {
  if (/\buseJourneys\(/.test(source)) return 0;
  return /\blaunchChromium\(/.test(source) ? 1 : 2;
}

/**
 * Files that drive Chromium first, the journeys first of all; the rest in vitest's own order. They
 * are the suite's longest (10–60 s each, against a few seconds for most files), and vitest, with no
 * durations cached (a fresh clone, as in CI), puts the largest files first: the journeys are small
 * files, so they started last, and one fork ran the last of them while the others sat idle. Started
 * first, the short files fill in around them.
 */
export default class BrowsersFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = new Map(sorted.map((spec) => [spec, rankOf(readFileSync(spec.moduleId, 'utf8'))]));
    // A stable sort: vitest's order holds within each rank.
    return sorted.sort((a, b) => rank.get(a)! - rank.get(b)!);
  }
}
