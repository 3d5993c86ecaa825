import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandsOf } from '../../src/cli/help.js';
import { ROOT, runCli } from '../helpers/cli.js';

/** The command paths spanel declares, read from its own --help pages (so new commands are covered). */
async function allPaths(): Promise<string[]> {
  const paths: string[] = [''];
  for (let i = 0; i < paths.length; i++) {
    const r = await runCli([...paths[i]!.split(' ').filter(Boolean), '--help']);
    const block = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(r.stdout)?.[1] ?? '';
    for (const m of block.matchAll(/^  (\S+)/gm)) {
      if (m[1] !== 'help') paths.push(paths[i] ? `${paths[i]} ${m[1]}` : m[1]!);
    }
  }
  return paths;
}

describe('help', () => {
  it('every command and group has an example', async () => {
    const paths = await allPaths();
    expect(paths).toEqual(expect.arrayContaining(['', 'job', 'job daily', 'payment', 'payment confirm', 'referral', 'referral recover', 'migrate', 'migrate status', 'completion', 'demo']));
    for (const path of paths) {
      const r = await runCli([...path.split(' ').filter(Boolean), '--help']);
      expect(r.code, path).toBe(0);
      expect(r.stdout, `spanel ${path} --help`).toMatch(/\nExamples?:\n  \$ (npx )?spanel /);
    }
  });

  it('the group pages show theirs', async () => {
    expect((await runCli(['job', '--help'])).stdout).toContain('Examples:\n  $ spanel job check --dry-run\n  $ spanel --env-file /etc/spanel/spanel.env job daily\n');
    expect((await runCli(['referral', '--help'])).stdout).toContain('Example:\n  $ spanel referral recover 5678 --dry-run\n');
  });

  it('commandsOf lists nested commands by path, without commander\'s help', () => {
    const p = new Command('x');
    p.command('a').command('b');
    p.command('c');
    expect(commandsOf(p).map(([path]) => path)).toEqual(['', 'a', 'a b', 'c']);
  });
});

describe('spanel completion', () => {
  const complete = (script: string, words: string[]) =>
    execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _spanel_completion; echo "\${COMPREPLY[*]}"`], {
      encoding: 'utf8',
    }).trim();

  it('bash: completes commands, subcommands and options', async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('complete -o default -F _spanel_completion spanel');
    expect(complete(r.stdout, ['spanel', ''])).toBe('job payment referral migrate doctor config status demo history ledger user completion --version --env-file --help');
    expect(complete(r.stdout, ['spanel', 'job', 'd'])).toBe('daily dbclean');
    expect(complete(r.stdout, ['spanel', '--env-file', '/etc/spanel.env', 'job', 'check', '--f'])).toBe('--force');
    expect(complete(r.stdout, ['spanel', 'payment', 'confirm', '--t'])).toBe('--tradeno');
    expect(complete(r.stdout, ['spanel', 'completion', ''])).toBe('bash zsh fish --env-file --help');
    // After an option that takes a value, bash falls back to file names (-o default).
    expect(complete(r.stdout, ['spanel', '--env-file', ''])).toBe('');
  });

  it('zsh: the same function through bashcompinit', async () => {
    const r = await runCli(['completion', 'zsh']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['#compdef spanel', '# zsh completion for spanel (spanel completion zsh)', 'autoload -U +X bashcompinit && bashcompinit']);
    expect(r.stdout).toContain('complete -o default -F _spanel_completion spanel');
  });

  it('fish: one complete line per command and option', async () => {
    const r = await runCli(['completion', 'fish']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("complete -c spanel -n '__fish_use_subcommand' -a 'job' -d 'Run a scheduled maintenance job (cron / systemd timers)'\n");
    expect(r.stdout).toContain(
      "complete -c spanel -n '__fish_seen_subcommand_from job; and not __fish_seen_subcommand_from daily hourly check dbclean' -a 'daily' -d",
    );
    expect(r.stdout).toContain("complete -c spanel -n '__fish_seen_subcommand_from check' -l force -d");
    expect(r.stdout).toContain("complete -c spanel -n '__fish_use_subcommand' -l env-file -r -F -d");
  });

  it('an unknown shell: exit 2, one line', async () => {
    const r = await runCli(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('spanel: unknown shell "tcsh": expected bash, zsh or fish\n');
  });
});

describe('LICENSE', () => {
  it('is the MIT licence package.json names, and is shipped', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(pkg.files).toContain('LICENSE');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
  });
});
