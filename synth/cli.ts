/**
 * `npm run synth -- <stack>`: prints the offline synth of a stack as one JSON document.
 * Exit codes: 0 done (or --help); 2 invalid config (problems on stderr, nothing on stdout); 1 anything else.
 */
import { REPOSITORY_ROOT } from "../config/repositoryRoot";
import { ConfigValidationError } from "../config/loadConfig";
import { listStacks } from "./stackFiles";
import { synthesize } from "./synthesize";

function usage(): string {
    const dir = process.env.HOMEIQ_PROJECT_DIR || REPOSITORY_ROOT;
    const stacks = listStacks(dir);
    return [
        "usage: npm run -s synth -- <stack> [--skip-checkout-check]",
        "",
        "Validates the stack's configuration (Pulumi.<stack>.yaml) and prints, as JSON on stdout, every resource",
        "`pulumi up` would register, without Pulumi or Docker. Problems go to stderr, each with a fix.",
        "With a local engine and imageSource=build it also checks the HomeIQ checkout (homeiqCheckoutPath) holds",
        "every service's Dockerfile, as `pulumi up` does; --skip-checkout-check leaves that out (a machine that only validates).",
        `Stacks here: ${stacks.join(", ") || "none"}.`,
        "Exit codes: 0 done; 2 invalid configuration (nothing on stdout); 1 anything else.",
        "",
    ].join("\n");
}

async function run(): Promise<number> {
    const args = process.argv.slice(2);
    if (args.some((a) => a === "--help" || a === "-h")) {
        process.stdout.write(usage());
        return 0;
    }
    const skipCheckout = args.includes("--skip-checkout-check");
    const rest = args.filter((a) => a !== "--skip-checkout-check");
    const stack = rest[0];
    if (!stack || rest.length > 1 || stack.startsWith("-")) {
        process.stderr.write(stack?.startsWith("-") ? `synth: unknown option ${stack}\n${usage()}` : usage());
        return 1;
    }
    try {
        const started = process.hrtime.bigint();
        // HOMEIQ_PROJECT_DIR lets tests point the synth at a copy of the project with other stack files.
        const result = await synthesize(stack, { projectDir: process.env.HOMEIQ_PROJECT_DIR || undefined, verifyCheckout: !skipCheckout });
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
