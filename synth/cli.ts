/**
 * `npm run synth -- <stack>`: prints the offline synth of a stack as one JSON document.
 * Exit codes: 0 done; 2 invalid config (problems on stderr, nothing on stdout); 1 anything else.
 */
import { ConfigValidationError } from "../config/loadConfig";
import { synthesize } from "./synthesize";

async function run(): Promise<number> {
    const stack = process.argv[2];
    if (!stack || process.argv.length > 3) {
        process.stderr.write("usage: npm run synth -- <stack>   (e.g. dev or prod)\n");
        return 1;
    }
    try {
        const started = process.hrtime.bigint();
        // HOMEIQ_PROJECT_DIR lets tests point the synth at a copy of the project with other stack files.
        const result = await synthesize(stack, { projectDir: process.env.HOMEIQ_PROJECT_DIR || undefined });
        for (const p of result.placeholders) {
            process.stderr.write(`synth: ${p.key}: ${p.reason}; a placeholder secret stands in for it\n`);
        }
        const { placeholders: _placeholders, ...document } = result;
        process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        process.stderr.write(`synth: ${result.resources.length} resources for stack ${stack} in ${ms.toFixed(0)} ms\n`);
        return 0;
    } catch (err) {
        if (err instanceof ConfigValidationError) {
            process.stderr.write(`${err.message}\n`);
            return 2;
        }
        process.stderr.write(`synth failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        return 1;
    }
}

// Exit only once stdout has been flushed: a pipe takes large writes asynchronously, and
// process.exit would cut the document short.
run().then((code) => process.stdout.write("", () => process.exit(code)));
