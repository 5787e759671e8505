"use strict";
// The program's entry point for the Pulumi CLI (package.json "main"). Pulumi.yaml sets
// `typescript: false`, so the SDK loads this file as it is, without ts-node: launch.js then runs the
// compiled program in bin/, or, if bin/ is missing or stale, index.ts through ts-node, type-checked
// as Pulumi's own TypeScript support would. Its exports are the stack outputs.
module.exports = require("./launch").load("index", { typeCheck: true });
