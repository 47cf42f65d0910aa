// Validates AsyncAPI documents with the official parser (@asyncapi/parser, pinned in
// package-lock.json) and its default ruleset. Usage: node validate.js FILE...
// Prints one JSON line per file: {file, diagnostics: [{code, severity, message, path}]}
// (severity 0 error, 1 warning, 2 information, 3 hint); exits 1 when a file could not be read.
"use strict";
const fs = require("fs");
const { Parser } = require("@asyncapi/parser");

async function main(files) {
  const parser = new Parser();
  let failed = false;
  for (const file of files) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      console.error(`${file}: ${e.message}`);
      failed = true;
      continue;
    }
    const { document, diagnostics } = await parser.parse(text, { source: file });
    console.log(
      JSON.stringify({
        file,
        parsed: document !== undefined,
        diagnostics: diagnostics.map((d) => ({
          code: d.code,
          severity: d.severity,
          message: d.message,
          path: d.path.join("/"),
        })),
      })
    );
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  }
);
