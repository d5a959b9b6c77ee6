// api_check.mjs - the declarations (rtg-client.d.ts) and the module (rtg-client.js)
// name the same public API: every export, and every method, accessor and property of
// the two classes, static ones included. Reads the declarations with the TypeScript
// compiler API and the module by importing it. One "ok"/"not ok" line per check.
//
//   node api_check.mjs TYPESCRIPT_DIR PACKAGE_DIR
//
// PACKAGE_DIR holds rtg-client.js and rtg-client.d.ts (clients/js, or the installed
// package). Names starting with "_" are private by the client's convention.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [tsDir, pkgDir] = process.argv.slice(2).map((p) => path.resolve(p));
const ts = createRequire(path.join(tsDir, 'package.json'))('./lib/typescript.js');
const dts = path.join(pkgDir, 'rtg-client.d.ts');
const mod = await import(pathToFileURL(path.join(pkgDir, 'rtg-client.js')).href);

let failed = 0;
const report = (good, name, detail) => {
	console.log(`${good ? 'ok' : 'not ok'} - ${name}`);
	if (!good) {
		failed++;
		if (detail) console.log(`#   ${detail}`);
	}
};
const sameSet = (name, declared, actual) => {
	const missing = [...declared].filter((n) => !actual.has(n)).sort();
	const undeclared = [...actual].filter((n) => !declared.has(n)).sort();
	report(
		!missing.length && !undeclared.length,
		name,
		`declared but missing at run time: [${missing}]; there but not declared: [${undeclared}]`
	);
};

// ---- the declarations ---------------------------------------------------------------------------
const program = ts.createProgram([dts], { noEmit: true, types: [], lib: ['lib.es2022.d.ts'] });
const checker = program.getTypeChecker();
const diags = ts.getPreEmitDiagnostics(program);
report(!diags.length, 'rtg-client.d.ts compiles on its own',
	diags.map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' ')).join('; '));
const source = program.getSourceFile(dts);
const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(source));
const resolved = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
const valueExports = new Set(exports.filter((s) => resolved(s).flags & ts.SymbolFlags.Value).map((s) => s.name));

// declared members of class NAME: {instance: Set, static: Set}
function declaredMembers(name) {
	const sym = exports.find((s) => s.name === name);
	const decl = sym.declarations.find(ts.isClassDeclaration);
	const out = { instance: new Set(), static: new Set() };
	for (const m of decl.members) {
		if (!m.name || ts.isConstructorDeclaration(m)) continue;
		const isStatic = (ts.getCombinedModifierFlags(m) & ts.ModifierFlags.Static) !== 0;
		out[isStatic ? 'static' : 'instance'].add(m.name.getText(source));
	}
	return out;
}

// ---- the module -----------------------------------------------------------------------------------
const runtimeExports = new Set(Object.keys(mod));
sameSet('the module exports exactly the declared values', valueExports, runtimeExports);
report(mod.default === mod.RtgClient, 'the default export is RtgClient');

// A socket that never opens: constructing and connecting touch no network.
class InertSocket {
	constructor() {
		this.readyState = 0;
	}
	send() {}
	close() {}
}

function runtimeMembers(cls, instance) {
	const pub = (n) => !n.startsWith('_') && n !== 'constructor';
	const inst = new Set(Object.getOwnPropertyNames(cls.prototype).filter(pub));
	for (const n of Object.keys(instance).filter(pub)) inst.add(n);
	const stat = new Set(
		Object.getOwnPropertyNames(cls).filter((n) => pub(n) && !['length', 'name', 'prototype'].includes(n))
	);
	return { instance: inst, static: stat };
}

const instances = {
	RtgClient: new mod.RtgClient({ WebSocket: InertSocket, heartbeatMs: 0 }),
	WebSocketClient: new mod.WebSocketClient({ WebSocket: InertSocket, heartbeatInterval: 0 })
};
for (const [name, instance] of Object.entries(instances)) {
	const declared = declaredMembers(name);
	const actual = runtimeMembers(mod[name], instance);
	sameSet(`${name}: the declared instance members are the module's`, declared.instance, actual.instance);
	sameSet(`${name}: the declared static members are the module's`, declared.static, actual.static);
}
process.exit(failed ? 1 : 0);
