// PostgreSQL for the e2e harness (issue 8): the server scripts/pg-test-server
// started, named by CAREID_TEST_PG (its admin URL), one database per test.
// Uses the psql, createdb and dropdb client commands (Debian postgresql-client),
// no npm package. The password is handed to them in PGPASSWORD, not on their
// command lines (where `ps` would show it).
import { execFile } from 'node:child_process';

const TIMEOUT_MS = 60_000;
const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The admin URL of the test server (env CAREID_TEST_PG), or undefined. */
export function adminUrl() {
	return process.env.CAREID_TEST_PG || undefined;
}

function needAdmin() {
	const url = adminUrl();
	if (!url)
		throw new Error('pg: CAREID_TEST_PG is not set (start one with scripts/pg-test-server)');
	return url;
}

function checkName(name) {
	if (typeof name !== 'string' || !NAME.test(name))
		throw new Error(`pg: bad database name ${JSON.stringify(name)} (use [a-z0-9_])`);
}

/** The URL of database `name` on the admin URL's server, as the same user. */
export function databaseUrl(name) {
	checkName(name);
	const u = new URL(needAdmin());
	u.pathname = `/${name}`;
	return u.toString();
}

// Splits a URL's password off into the environment of the client command.
function connection(url) {
	const u = new URL(url);
	const env = { ...process.env, PGCONNECT_TIMEOUT: '10' };
	if (u.password) {
		env.PGPASSWORD = decodeURIComponent(u.password);
		u.password = '';
	}
	return { url: u.toString(), env };
}

function run(cmd, args, env, what) {
	return new Promise((resolve, reject) => {
		execFile(cmd, args, { env, timeout: TIMEOUT_MS, maxBuffer: 64 << 20 },
			(err, stdout, stderr) => {
				if (err) {
					const why = (stderr || '').trim() || err.message;
					reject(new Error(`pg: ${what} failed: ${why}`));
					return;
				}
				resolve(stdout);
			});
	});
}

/**
 * Creates database `name` (from `template` when given: a template database
 * must have no other connection while it is copied) and returns its URL.
 */
export async function createDatabase(name, { template } = {}) {
	checkName(name);
	if (template !== undefined)
		checkName(template);
	const { url, env } = connection(needAdmin());
	const args = ['--maintenance-db', url];
	if (template)
		args.push('--template', template);
	args.push(name);
	await run('createdb', args, env, `createdb ${name}`);
	return databaseUrl(name);
}

/** Drops database `name` if it exists, ending its connections (WITH (FORCE)). */
export async function dropDatabase(name) {
	checkName(name);
	const { url, env } = connection(needAdmin());
	await run('dropdb', ['--maintenance-db', url, '--if-exists', '--force', name], env,
		`dropdb ${name}`);
}

// RFC 4180 CSV as COPY writes it: a NULL is an empty unquoted field, an empty
// string is "" (quoted), and quoted fields may hold commas, quotes and newlines.
export function parseCsv(text) {
	const rows = [];
	let row = [], field = '', quoted = false, inQuotes = false, i = 0;
	const endField = () => {
		row.push(field === '' && !quoted ? null : field);
		field = '';
		quoted = false;
	};
	while (i < text.length) {
		const c = text[i];
		if (inQuotes) {
			if (c === '"') {
				if (text[i + 1] === '"') {
					field += '"';
					i += 2;
					continue;
				}
				inQuotes = false;
			} else {
				field += c;
			}
			i++;
			continue;
		}
		if (c === '"') {
			inQuotes = true;
			quoted = true;
		} else if (c === ',') {
			endField();
		} else if (c === '\n' || c === '\r') {
			endField();
			rows.push(row);
			row = [];
			if (c === '\r' && text[i + 1] === '\n')
				i++;
		} else {
			field += c;
		}
		i++;
	}
	if (inQuotes)
		throw new Error('pg: unterminated quoted field in CSV');
	if (field !== '' || quoted || row.length > 0) {
		endField();
		rows.push(row);
	}
	return rows;
}

// Statements that return rows: queries, and INSERT/UPDATE/DELETE … RETURNING.
function returnsRows(statement) {
	return /^\s*(select|with|values|table)\b/i.test(statement) || /\breturning\b/i.test(statement);
}

/**
 * Runs one SQL statement on `url` and returns its rows: arrays of strings
 * (NULL as null), or objects keyed by column name with { objects: true }.
 * A statement that returns no rows (DDL, plain INSERT/UPDATE/DELETE) gives [].
 * Any error (connection, syntax, constraint) throws with psql's message.
 */
export async function sql(url, statement, { objects = false } = {}) {
	const stmt = statement.trim().replace(/;\s*$/, '');
	const { url: u, env } = connection(url);
	const args = ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', u];
	if (!returnsRows(stmt)) {
		await run('psql', [...args, '-c', stmt], env, `SQL ${JSON.stringify(stmt)}`);
		return [];
	}
	// COPY keeps NULL and '' apart and quotes what needs it, unlike psql's
	// aligned or unaligned output.
	const out = await run('psql',
		[...args, '-c', `COPY (${stmt}) TO STDOUT WITH (FORMAT csv, HEADER)`], env,
		`SQL ${JSON.stringify(stmt)}`);
	const [header, ...rows] = parseCsv(out);
	if (!objects)
		return rows;
	return rows.map((r) => Object.fromEntries(header.map((name, i) => [name, r[i]])));
}

/**
 * Runs one query (SELECT, or INSERT/UPDATE/DELETE … RETURNING) and returns its
 * rows as `sqlite3 -json` does: objects keyed by column name, numbers as
 * numbers, NULL as null (JSON from PostgreSQL's json_agg). Column names must be
 * unique, as for any object.
 */
export async function sqlJson(url, statement) {
	const stmt = statement.trim().replace(/;\s*$/, '');
	const { url: u, env } = connection(url);
	const out = await run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', u, '-c',
		`WITH q AS (${stmt}) SELECT coalesce(json_agg(q), '[]'::json) FROM q`], env,
		`SQL ${JSON.stringify(stmt)}`);
	return JSON.parse(out);
}
