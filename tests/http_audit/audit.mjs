// The graphql-http server audits (GraphQL over HTTP conformance) against one URL.
//   node audit.mjs <node_modules dir> <url>
// Prints a JSON array: one {id, name, status ("ok" | "warn" | "error"), reason} per audit.
import { createRequire } from 'node:module';
import path from 'node:path';

const [modules, url] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const { auditServer } = require('graphql-http');

const results = await auditServer({ url });
console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason: reason ?? null }))));
