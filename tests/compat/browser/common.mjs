/**
 * common.mjs - what the seed compatibility tests' browser parts share: Debian's
 * headless Chromium with the flags of ../shared/ENVIRONMENT.md, a page on the
 * adapter's own origin, "ok"/"not ok" reporting for lib.sh's browser_test, and
 * the verbatim-snippet helpers. Small on purpose; it knows no seed.
 *
 *   report(ok, name, detail)        one "ok - NAME" / "not ok - NAME" line (+ "#   detail")
 *   step(name, fn, {critical})      runs one case; fn throws to fail it, throws new Skip(why)
 *                                   to report "ok - NAME # SKIP why"; a critical failure
 *                                   makes every later step "not ok ... not run"
 *   done()                          exit status: 1 if any case failed
 *   assert(cond, message), delay(ms), until(fn, ms, what)   until polls fn every 50 ms
 *                                   and throws "after MS ms: <what()>" at the deadline
 *   env(name, fallback)             process.env[name], or "not ok" and exit when unset
 *   launch()                        a persistent Chromium context with a fresh profile
 *                                   directory; close it with close(context)
 *   adapterPage(context, http)      a page on http's origin (GET /health: no script of
 *                                   its own) with an empty <body><div id="root">, and
 *                                   recorders: page.rtg = {errors, logs, sockets}
 *   seedBlock(text, heading, lang)  the first ```lang block after the line `heading`
 *   sameText(a, b)                  equal once whitespace runs are one blank
 *   textDiff(a, b)                  where two texts first differ (words), for a report
 *   adapt(text, changes)            applies [{from, to, why}] (each `from` exactly once)
 *
 * Why a page on the adapter's origin: Chromium refuses a WebSocket to
 * ws://127.0.0.1 from a page of another address space, and the seeds' relative
 * URLs (new EventSource('/realtime/sse/...')) need the adapter as the origin.
 */
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

/** 1 if any case failed, else 0 (and 1 if none ran). */
export function done() {
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

export async function launch() {
	const dir = mkdtempSync(join(process.env.RTG_T_DIR || tmpdir(), 'chromium-'));
	const context = await chromium.launchPersistentContext(dir, {
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
	});
	profiles.set(context, dir);
	return context;
}

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
