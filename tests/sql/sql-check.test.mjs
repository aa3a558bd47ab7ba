// Tests of scripts/sql-check: the extractor on a fixture tree that writes SQL
// every way module code does (tests/sql/fixture), the statements it must
// reject, and careid's own SQL (every statement extracted; prepared on
// PostgreSQL and compiled on SQLite with no failure).
//
//   node --test tests/sql/
//
// PostgreSQL: the server named by CAREID_TEST_PG (an admin URL, as the e2e
// harness uses), else one started here with scripts/pg-test-server in a
// temporary directory and stopped after; the PostgreSQL tests are skipped
// when neither is possible (no server binaries). SQLite needs the sqlite3 CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHECK = join(ROOT, 'scripts/sql-check');
const FIXTURE = join(ROOT, 'tests/sql/fixture/src');

function sqlCheck(args) {
	const r = spawnSync(process.execPath, [CHECK, ...args], {
		encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20,
	});
	if (r.error) throw r.error;
	return r;
}

function json(r) {
	try {
		return JSON.parse(r.stdout);
	} catch {
		throw new Error(`sql-check gave no JSON (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
	}
}

const haveSqlite = !spawnSync('sqlite3', ['-version']).error;

let admin = process.env.CAREID_TEST_PG || null;
let pgDir = null;

before(() => {
	if (admin)
		return;
	const script = join(ROOT, 'scripts/pg-test-server');
	if (!existsSync(script) || spawnSync('psql', ['--version']).error)
		return;
	pgDir = mkdtempSync(join(tmpdir(), 'sqlcheck-test-pg-'));
	const r = spawnSync(script, ['start', pgDir], { encoding: 'utf8', timeout: 120_000 });
	if (r.status === 0 && /^postgres(ql)?:\/\//m.test(r.stdout))
		admin = r.stdout.trim().split('\n').pop();
	else
		process.stderr.write(`sql-check tests: no PostgreSQL (${(r.stderr || '').trim()})\n`);
});

after(() => {
	if (!pgDir)
		return;
	spawnSync(join(ROOT, 'scripts/pg-test-server'), ['stop', pgDir], { timeout: 120_000 });
	rmSync(pgDir, { recursive: true, force: true });
});

test('extracts every form of constant SQL in the fixture', () => {
	const out = json(sqlCheck(['--src', FIXTURE, '--list', '--json']));
	const good = out.statements.filter((s) => s.file.endsWith('mod/good.c'))
		.map((s) => `${s.line} ${s.types} ${s.sql}`);
	assert.deepEqual(good.sort(), [
		// adjacent literals in the call (the fixture is clang-formatted: `make format`)
		'34 ti INSERT INTO things (id, n) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING',
		// a file-scope static const char[]
		'38 t SELECT id, n FROM things WHERE id = $1',
		// a choice between two function-scope constants made by a function-like macro
		'39  SELECT id, n, flag FROM things ORDER BY n ASC',
		'39  SELECT id, n, flag FROM things ORDER BY n DESC',
		// a local pointer set from a ?: of literals
		'40  SELECT id FROM things ORDER BY n',
		'40  SELECT id FROM things ORDER BY n DESC',
		// the elements of a constant array (NULL end marker skipped)
		'41  SELECT COUNT(*) FROM things',
		'41  SELECT COUNT(*) FROM things WHERE flag = 1',
		// through a wrapper function
		'42 t SELECT note FROM things WHERE id = $1',
		'43 iitt UPDATE things SET n = CASE WHEN n > $1 THEN n ELSE $2 END, ' +
			'note = COALESCE($3, note) WHERE id = $4',
	].sort());
	assert.deepEqual(out.wrappers.map((w) => `${w.name} ${w.sqlParam}`), ['one 1']);
	// The call in good.c's comment is not a call.
	assert.ok(!out.statements.some((s) => /DROP/.test(s.sql)));
	// Only bad.c's dynamic SQL and its macro are problems; nothing of good.c.
	assert.deepEqual(out.problems.map((p) => `${p.file}:${p.line} ${p.kind}`),
		['src/mod/bad.c:25 dynamic', 'src/mod/bad.c:34 unresolved']);
});

test('the static checks catch what PREPARE cannot', () => {
	const out = json(sqlCheck(['--src', FIXTURE, '--list', '--json']));
	const got = out.failures.map((f) => `${f.where} ${f.kind} ${f.error}`);
	const want = [
		/^src\/mod\/bad\.c:25 dynamic buf is a variable/,
		/^src\/mod\/bad\.c:34 unresolved store_exec called inside a macro/,
		/^src\/mod\/bad\.c:12 static IFNULL/,
		/^src\/mod\/bad\.c:20 static GREATEST/,
		/^src\/mod\/bad\.c:22 static uses \$2 but types "t" binds 1/,
		/^src\/mod\/bad\.c:27 static types "t" wants 1 arguments, the call passes 2/,
	];
	for (const re of want)
		assert.ok(got.some((g) => re.test(g)), `no failure like ${re} in:\n${got.join('\n')}`);
	assert.equal(got.length, want.length, got.join('\n'));
});

test('careid\'s own SQL is all extracted, none dynamic or unresolved', () => {
	const r = sqlCheck(['--list', '--json']);
	const out = json(r);
	assert.deepEqual(out.problems, []);
	assert.deepEqual(out.failures, []);
	assert.equal(r.status, 0);
	// Sanity: a known statement of each kind of place is there.
	assert.ok(out.statements.length > 150, `only ${out.statements.length} statements`);
	assert.ok(out.statements.some((s) => s.file === 'src/store/store.c' &&
		/schema_migrations/.test(s.sql)));
	assert.ok(out.statements.some((s) => s.func === 'one_int'));
	// audit.c builds its two orders with a function-like macro.
	assert.equal(out.statements.filter((s) => s.file === 'src/audit/audit.c' &&
		/LIMIT \$12/.test(s.sql)).length, 2);
});

test('the fixture\'s bad statements fail on SQLite', { skip: !haveSqlite && 'no sqlite3' }, () => {
	const r = sqlCheck(['--src', FIXTURE, '--sqlite', '--json']);
	assert.equal(r.status, 1, r.stderr);
	const out = json(r);
	const sqlite = out.failures.filter((f) => f.kind === 'sqlite').map((f) => f.where);
	assert.deepEqual(sqlite, ['src/mod/bad.c:20']);
	assert.match(out.failures.find((f) => f.kind === 'sqlite').error, /no such function: GREATEST/);
});

test('the fixture\'s bad statements fail on PostgreSQL', (t) => {
	if (!admin)
		return t.skip('no PostgreSQL server');
	const r = sqlCheck(['--src', FIXTURE, '--admin-url', admin, '--no-sqlite', '--json']);
	assert.equal(r.status, 1, r.stderr);
	const out = json(r);
	const pg = out.failures.filter((f) => f.kind === 'postgres' || f.kind === 'result')
		.map((f) => `${f.where} ${f.kind} ${f.error.split('\n')[0]}`);
	const want = [
		/^src\/mod\/bad\.c:12 postgres ERROR: +function ifnull/,
		/^src\/mod\/bad\.c:14 postgres ERROR: +argument of WHERE must be type boolean/,
		/^src\/mod\/bad\.c:16 result .*column 0 is numeric/,
		/^src\/mod\/bad\.c:18 postgres ERROR: +operator does not exist: bigint = text/,
		/^src\/mod\/bad\.c:29 result .*column 0 is boolean/,
	];
	for (const re of want)
		assert.ok(pg.some((g) => re.test(g)), `no failure like ${re} in:\n${pg.join('\n')}`);
	// Nothing in good.c fails.
	assert.ok(!out.failures.some((f) => f.where.includes('good.c')), JSON.stringify(out.failures));
});

test('careid\'s SQL prepares on PostgreSQL and compiles on SQLite', (t) => {
	if (!admin)
		return t.skip('no PostgreSQL server');
	const t0 = Date.now();
	const r = sqlCheck(['--admin-url', admin]);
	assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
	assert.match(r.stdout, / 0 failure\(s\)/);
	assert.ok(Date.now() - t0 < 60_000, 'sql-check took over a minute');
	// The scratch database was dropped.
	const u = new URL(admin);
	const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
	u.password = '';
	const left = spawnSync('psql', ['-X', '-At', '-d', u.toString(), '-c',
		"SELECT count(*) FROM pg_database WHERE datname LIKE 'sqlcheck\\_%'"], { encoding: 'utf8', env });
	if (left.status === 0)
		assert.equal(left.stdout.trim(), '0');
});
