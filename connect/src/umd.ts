// Entry of dist/alter-connect.umd.js (a script tag or CommonJS). A script tag may be evaluated
// once only, and `document.currentScript` is set only while it runs: capture it now.
import { makeAlterConnect } from "./connect";

declare const module: { exports: unknown } | undefined;

const script = globalThis.document && (document.currentScript as HTMLScriptElement | null);
const src = script && script.src;
const AlterConnect = makeAlterConnect(() => src);

if (typeof module != "undefined") module.exports = AlterConnect;
else (globalThis as any).AlterConnect = AlterConnect;
