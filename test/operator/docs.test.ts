import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.js';

const DOCS = join(ROOT, 'docs');
const markdown = (): string[] => [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** [text](target) outside code blocks and inline code; external and mailto links left out. */
function linksOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '``');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe('the documentation', () => {
  it('README is at most 300 lines and links no file outside the repository', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    expect(readme).not.toContain('../shared');
    for (const doc of ['docs/reference.md', 'docs/operations.md', 'docs/configuration.md', 'docs/performance.md']) {
      expect(readme).toContain(`](${doc})`);
    }
  });

  it('every relative link in README.md and docs/ resolves inside the repository, anchors included', () => {
    const broken: string[] = [];
    for (const file of markdown()) {
      for (const link of linksOf(file)) {
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        const where = `${relative(ROOT, file)} → ${link}`;
        if (relative(ROOT, target).startsWith('..')) broken.push(`${where}: outside the repository`);
        else if (!existsSync(target)) broken.push(`${where}: no such file`);
        else if (anchor && target.endsWith('.md') && !anchorsOf(target).has(anchor)) broken.push(`${where}: no such heading`);
        else if (anchor && statSync(target).isDirectory()) broken.push(`${where}: anchor on a directory`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every setting in .env.example is explained somewhere in docs/', () => {
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const settings = [...example.matchAll(/^(?:# )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
    expect(settings).toContain('DATABASE_URL');
    expect(settings).toContain('LOG_LEVEL');
    const docs = readdirSync(DOCS)
      .filter((f) => f.endsWith('.md'))
      .map((f) => readFileSync(join(DOCS, f), 'utf8'))
      .join('\n');
    const missing = settings.filter((s) => !new RegExp(`\\b${s}\\b`).test(docs));
    expect(missing).toEqual([]);
  });

  it('the anchor rule matches GitHub for the headings used here', () => {
    expect(slug('`spanel job daily` (run at 02:00 panel time)')).toBe('spanel-job-daily-run-at-0200-panel-time');
    expect(slug('3a. Schedule with systemd timers')).toBe('3a-schedule-with-systemd-timers');
    expect(slug('Set up the database: `spanel migrate`')).toBe('set-up-the-database-spanel-migrate');
  });
});
