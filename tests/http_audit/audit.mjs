// The graphql-http server audits (GraphQL over HTTP conformance) against one URL.
//   node audit.mjs <node_modules dir> <url> [token]
// With a token, every request carries it as a bearer (the gateway answers a request without a
// valid token 401 from its headers, before it reads the body).
// Prints a JSON array: one {id, name, status ("ok" | "warn" | "error"), reason} per audit.
import { createRequire } from 'node:module';
import path from 'node:path';

const [modules, url, token] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const { auditServer } = require('graphql-http');

const fetchFn = token
  ? (input, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    }
  : fetch;
const results = await auditServer({ url, fetchFn });
console.log(JSON.stringify(results.map(({ id, name, status, reason }) => ({ id, name, status, reason: reason ?? null }))));
