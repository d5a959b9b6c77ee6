/**
 * session.js - the sign-in token of one browser tab, shared by the dashboard
 * (index.html) and the protocol console (test.html).
 *
 * A token that comes in the address (?token=... as `make run` prints it, or
 * #token=...) is kept in sessionStorage and taken out of the address bar with
 * history.replaceState (no reload), so it is not bookmarked, copied with the
 * URL or left in the history; later loads in the same tab (the links between
 * the two pages, a reload) read it from sessionStorage. sessionStorage lives
 * as long as the tab and is not shared with other tabs or sent to any server.
 * This file does not check the token: the gateway does.
 */

const KEY = 'rtg.token';
let memory = ''; // when sessionStorage is unavailable (disabled storage): this page only

/** The token kept for this tab, or ''. */
export function storedToken() {
	try {
		return sessionStorage.getItem(KEY) || '';
	} catch {
		return memory;
	}
}

/** Keeps tok for this tab ('' forgets it). */
export function storeToken(tok) {
	memory = tok || '';
	try {
		if (memory) sessionStorage.setItem(KEY, memory);
		else sessionStorage.removeItem(KEY);
	} catch {
		/* storage disabled: memory only */
	}
}

/** Forgets the tab's token (a refused token, signing out). */
export function forgetToken() {
	storeToken('');
}

/**
 * The page's token: the one in the address, if any (then kept and removed
 * from the address bar), else the tab's kept one. Returns '' when neither.
 */
export function takeToken() {
	const url = new URL(location.href);
	const hash = new URLSearchParams(url.hash.replace(/^#/, ''));
	const given = url.searchParams.get('token') || hash.get('token') || '';
	if (url.searchParams.has('token') || hash.has('token')) {
		url.searchParams.delete('token');
		hash.delete('token');
		const rest = hash.toString();
		url.hash = rest ? `#${rest}` : '';
		history.replaceState(history.state, '', url.toString());
	}
	if (given) storeToken(given);
	return given || storedToken();
}
