/**
 * common.mjs - what the seed compatibility tests' browser parts share: Debian's
 * headless Chromium with the flags of ../shared/ENVIRONMENT.md, a page on the
 * adapter's own origin, "ok"/"not ok" reporting for lib.sh's browser_test, and
 * the verbatim-snippet helpers. Small on purpose; it knows no seed. The browser
 * tests of tests/e2e (another npm package) import it too, by its path.
 *
 *   report(ok, name, detail)        one "ok - NAME" / "not ok - NAME" line (+ "#   detail")
 *   step(name, fn, {critical})      runs one case; fn throws to fail it, throws new Skip(why)
 *                                   to report "ok - NAME # SKIP why"; a critical failure
 *                                   makes every later step "not ok ... not run"
 *   done()                          prints "# SCRIPT: N passed, N failed in S s" and returns
 *                                   the exit status: 1 if any case failed (or none ran)
 *   assert(cond, message), delay(ms), until(fn, ms, what)   until polls fn every 50 ms
 *                                   and throws "after MS ms: <what()>" at the deadline
 *   env(name, fallback)             process.env[name], or "not ok" and exit when unset
 *   launch(options)                 a persistent Chromium context with a fresh profile
 *                                   directory (options: more of Playwright's, e.g. viewport);
 *                                   close it with close(context)
 *   launchBrowser()                 a Chromium whose newContext()s share nothing (cookies,
 *                                   storage); close it with close(browser)
 *   adapterPage(context, http)      a page on http's origin (GET /health: no script of
 *                                   its own) with an empty <body><div id="root">, and
 *                                   recorders: page.rtg = {errors, logs, sockets}
 *   seedBlock(text, heading, lang)  the first ```lang block after the line `heading`
 *   sameText(a, b)                  equal once whitespace runs are one blank
 *   textDiff(a, b)                  where two texts first differ (words), for a report
 *   adapt(text, changes)            applies [{from, to, why}] (each `from` exactly once)
 *   checkVerbatim(doc, heading, lang, copy)   doc's block (seedBlock) is copy (sameText);
 *                                   throws Skip when doc is '' (no seed documents here)
 *   run(cmd, args, {env, timeout})  a program to its end: {code, out, err}; killed by pid
 *                                   (SIGKILL) and rejected at the timeout (30 s)
 *
 * Why a page on the adapter's origin: Chromium refuses a WebSocket to
 * ws://127.0.0.1 from a page of another address space, and the seeds' relative
 * URLs (new EventSource('/realtime/sse/...')) need the adapter as the origin.
 *
 * playwright-core is taken from the package of the test being run (tests/compat
 * or tests/e2e, each with its own package.json, node_modules and `npm ci`), not
 * from beside this file: an import here would resolve from tests/compat's
 * node_modules, which integration/30 and 31 do not install (they `npm ci` in
 * tests/e2e) and which does not exist yet when they run (run.sh runs compat last).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SCRIPT = process.argv[1]; // node makes it absolute
const { chromium } = createRequire(pathToFileURL(SCRIPT))('playwright-core');
const STARTED = Date.now();

let passed = 0;
let failed = 0;
let aborted = false;

export function report(ok, name, detail) {
	if (ok) passed++;
	else failed++;
	console.log(`${ok ? 'ok' : 'not ok'} - ${name}`);
	if (!ok && detail) for (const line of String(detail).split('\n').slice(0, 20)) console.log(`#   ${line}`);
}

/** A case that cannot run here: reported "ok - NAME # SKIP message". */
export class Skip extends Error {}

export async function step(name, fn, { critical = false } = {}) {
	if (aborted) {
		report(false, name, 'not run: an earlier critical step failed');
		return false;
	}
	try {
		await fn();
		report(true, name);
		return true;
	} catch (err) {
		if (err instanceof Skip) {
			passed++;
			console.log(`ok - ${name} # SKIP ${err.message}`);
			return true;
		}
		report(false, name, err && err.stack && !(err instanceof AssertionFailed) ? err.stack : err && err.message ? err.message : String(err));
		if (critical) aborted = true;
		return false;
	}
}

/** Prints the script's totals; returns 1 if any case failed, else 0 (and 1 if none ran). */
export function done() {
	console.log(`# ${basename(SCRIPT)}: ${passed} passed, ${failed} failed in ${((Date.now() - STARTED) / 1000).toFixed(1)} s`);
	return failed || !passed ? 1 : 0;
}

class AssertionFailed extends Error {}

export function assert(cond, message) {
	if (!cond) throw new AssertionFailed(typeof message === 'function' ? message() : message);
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(fn, timeout, what) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const v = await fn();
		if (v) return v;
		if (Date.now() >= deadline)
			throw new AssertionFailed(`after ${timeout} ms: ${typeof what === 'function' ? await what() : what}`);
		await delay(50);
	}
}

export function env(name, fallback) {
	const v = process.env[name] ?? fallback;
	if (v === undefined) {
		console.log(`not ok - environment: ${name} is set`);
		process.exit(1);
	}
	return v;
}

// ---- Chromium -------------------------------------------------------------------------------------

const profiles = new Map();

const CHROMIUM = {
	executablePath: process.env.RTG_CHROMIUM || '/usr/bin/chromium',
	headless: true,
	args: [
		'--no-sandbox',
		'--disable-gpu',
		'--disable-quic',
		'--no-first-run',
		'--disable-background-networking',
		'--disable-component-update',
		'--disable-sync'
	]
};

export async function launch(options = {}) {
	const dir = mkdtempSync(join(process.env.RTG_T_DIR || tmpdir(), 'chromium-'));
	const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM, ...options });
	profiles.set(context, dir);
	return context;
}

/** Playwright gives the browser a fresh profile directory of its own, and removes it. */
export async function launchBrowser() {
	return chromium.launch(CHROMIUM);
}

/** Closes what launch() or launchBrowser() gave; removes launch()'s profile directory. */
export async function close(context) {
	if (!context) return;
	await context.close().catch(() => {});
	const dir = profiles.get(context);
	if (dir) rmSync(dir, { recursive: true, force: true });
	profiles.delete(context);
}

/**
 * A new page on the adapter's origin, empty but for <div id="root">. page.rtg:
 *   errors   uncaught page errors (messages)
 *   logs     console.log calls: {text, args: Promise of their JSON values}
 *   sockets  every WebSocket the page opened: {url, received: [parsed JSON or text], sent: [text], closed}
 */
export async function adapterPage(context, http) {
	const page = await context.newPage();
	const rtg = { errors: [], logs: [], sockets: [] };
	page.rtg = rtg;
	page.on('pageerror', (err) => rtg.errors.push(err.message));
	page.on('console', (msg) => {
		if (msg.type() === 'log')
			rtg.logs.push({ text: msg.text(), args: Promise.all(msg.args().map((a) => a.jsonValue().catch(() => null))) });
	});
	page.on('websocket', (ws) => {
		const s = { url: ws.url(), received: [], sent: [], closed: false };
		rtg.sockets.push(s);
		const parse = (p) => {
			try {
				return JSON.parse(String(p));
			} catch {
				return String(p);
			}
		};
		ws.on('framereceived', (f) => s.received.push(parse(f.payload)));
		ws.on('framesent', (f) => s.sent.push(String(f.payload)));
		ws.on('close', () => (s.closed = true));
	});
	const res = await page.goto(`${http}/health`);
	assert(res && res.ok(), `GET ${http}/health: HTTP ${res && res.status()}`);
	await page.evaluate(() => {
		document.head.innerHTML = '<meta charset="utf-8"><title>seed compat</title>';
		document.body.innerHTML = '<div id="root"></div>';
	});
	return page;
}

// ---- verbatim snippets --------------------------------------------------------------------------

export function seedBlock(text, heading, lang) {
	const lines = text.split('\n');
	const at = lines.findIndex((l) => l.trim() === heading);
	if (at < 0) return null;
	const rest = lines.slice(at + 1).join('\n');
	const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)\\n```').exec(rest);
	return m ? m[1] : null;
}

export const normalised = (s) => s.replace(/\s+/g, ' ').trim();

export function sameText(a, b) {
	return a !== null && b !== null && normalised(a) === normalised(b);
}

export function textDiff(a, b) {
	const wa = normalised(a).split(' ');
	const wb = normalised(b).split(' ');
	let i = 0;
	while (i < wa.length && i < wb.length && wa[i] === wb[i]) i++;
	if (i === wa.length && i === wb.length) return 'no difference';
	const at = (w) => JSON.stringify(w.slice(Math.max(0, i - 4), i + 6).join(' '));
	return `first difference at word ${i + 1}: ${at(wa)} / ${at(wb)}`;
}

export function adapt(text, changes) {
	let out = text;
	for (const { from, to } of changes) {
		const n = out.split(from).length - 1;
		if (n !== 1) throw new Error(`the snippet has ${n} occurrences of ${JSON.stringify(from)}, not 1`);
		out = out.replace(from, () => to);
	}
	return out;
}

/** For a step: throws Skip without a document (doc ''), fails unless its block is copy. */
export function checkVerbatim(doc, heading, lang, copy) {
	if (!doc) throw new Skip('no seed documents here');
	const block = seedBlock(readFileSync(doc, 'utf8'), heading, lang);
	assert(block !== null, `${doc} has no ${lang} block under "${heading}"`);
	assert(sameText(block, copy), `${heading}: the document's block differs from this test's copy: ${textDiff(block, copy)} (document / test)`);
}

// ---- child processes ----------------------------------------------------------------------------

export function run(cmd, args, { env: extra = {}, timeout = 30000 } = {}) {
	return new Promise((resolve, reject) => {
		const p = spawn(cmd, args, { env: { ...process.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		let err = '';
		const timer = setTimeout(() => {
			p.kill('SIGKILL');
			reject(new Error(`${cmd} ${args.join(' ')}: still running after ${timeout} ms`));
		}, timeout);
		p.stdout.on('data', (d) => (out += d));
		p.stderr.on('data', (d) => (err += d));
		p.on('error', (e) => {
			clearTimeout(timer);
			reject(e);
		});
		p.on('close', (code) => {
			clearTimeout(timer);
			resolve({ code, out, err });
		});
	});
}
