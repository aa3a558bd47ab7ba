// A real SMTP receiver for e2e tests: tests/unit/outbox/smtp_receiver.py (aiosmtpd, from
// Debian's python3-aiosmtpd), started on a free loopback port. Messages land as JSON files.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, sleep } from './careid.mjs';

export async function startSmtp() {
  const dir = await mkdtemp(join(tmpdir(), 'careid-smtp-'));
  const python = process.env.CAREID_PYTHON || '/usr/bin/python3';
  const child = spawn(python, [join(REPO, 'tests/unit/outbox/smtp_receiver.py'), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`SMTP receiver did not start: ${stderr}`)), 10000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/(\d+)\s*\n/);
      if (m) { clearTimeout(timer); resolve(Number(m[1])); }
    });
    child.on('exit', (code) => reject(new Error(`SMTP receiver exited ${code}: ${stderr}`)));
  });
  const smtp = {
    url: `smtp://127.0.0.1:${port}`,
    dir,
    /** Every message received so far: [{mail_from, rcpt_tos, headers, subject, body, …}]. */
    async messages() {
      const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
      return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))));
    },
    /** Waits for a message matching fn (to, subject, body); throws with what arrived. */
    async waitFor(fn, what, timeoutMs = 15000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const all = await smtp.messages();
        const found = all.find(fn);
        if (found) return found;
        if (Date.now() > end) throw new Error(`no e-mail: ${what}; received: ${JSON.stringify(all.map((m) => ({ to: m.rcpt_tos, subject: m.subject ?? m.headers?.subject })))}`);
        await sleep(200);
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
  return smtp;
}
