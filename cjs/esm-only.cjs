// What `require("weft")` gets: weft is an ES module package, and Node 20 cannot require ES modules.
// Saying so here, with what to write instead, beats Node's ERR_REQUIRE_ESM.
"use strict";
const error = new Error(
  'weft is an ES module package and cannot be loaded with require(). Use `import { Client, delayed, task } from "weft"` ' +
    'in an ES module (a .mjs or .ts file, or "type": "module" in package.json), or `const weft = await import("weft")` from CommonJS.',
);
error.code = "ERR_WEFT_ESM_ONLY";
throw error;
