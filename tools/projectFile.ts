/**
 * Pulumi.yaml's `config:` block, written from config/keys.ts (the one list of keys), so the Pulumi
 * CLI type-checks exactly the keys the program validates.
 *
 *   npm run write:project-file    rewrite the block (everything above `config:` is kept as it is)
 *   npm run check:project-file    exit 1, saying so, when the file differs from what would be written (npm test runs it)
 */
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS, type ConfigKeyDeclaration } from "../config/keys";

const FILE = path.join(__dirname, "..", "Pulumi.yaml");

/** A YAML scalar: JSON's double-quoted strings, numbers and booleans are valid YAML. */
const scalar = (v: unknown): string => JSON.stringify(v);

/** The `config:` block, as the last section of Pulumi.yaml. */
export function configBlock(keys: Readonly<Record<string, ConfigKeyDeclaration>> = CONFIG_KEYS): string {
    const lines = ["config:"];
    for (const [key, d] of Object.entries(keys)) {
        lines.push(`  ${key}:`, `    type: ${d.type}`);
        if (d.type === "array") lines.push("    items:", "      type: string");
        // Pulumi refuses a default on a key declared secret: only a required secret is declared so.
        if (d.secret && d.default === undefined) lines.push("    secret: true");
        lines.push(`    description: ${scalar(d.description)}`);
        if (d.default !== undefined) lines.push(`    default: ${scalar(d.default)}`);
    }
    return `${lines.join("\n")}\n`;
}

/** `text` (a Pulumi.yaml) with its top-level `config:` block, which must come last, replaced by `block`. */
export function withConfigBlock(text: string, block: string = configBlock()): string {
    const at = text.search(/^config:/m);
    if (at < 0) return `${text.replace(/\n*$/, "\n")}${block}`;
    const after = text.slice(at).split("\n").slice(1);
    const next = after.findIndex((line) => /^\S/.test(line) && !line.startsWith("#"));
    if (next >= 0) throw new Error(`Pulumi.yaml: 'config:' must be the last top-level key (found '${after[next]}' after it)`);
    return text.slice(0, at) + block;
}

if (require.main === module) {
    const mode = process.argv[2];
    const current = fs.readFileSync(FILE, "utf8");
    const wanted = withConfigBlock(current);
    if (mode === "--write") {
        if (wanted !== current) fs.writeFileSync(FILE, wanted);
        process.stdout.write(wanted === current ? "Pulumi.yaml: config block already current\n" : "Pulumi.yaml: config block rewritten from config/keys.ts\n");
    } else if (mode === "--check") {
        if (wanted !== current) {
            process.stderr.write("Pulumi.yaml: its config: block differs from config/keys.ts. Run `npm run write:project-file` and commit the result.\n");
            process.exitCode = 1;
        }
    } else {
        process.stderr.write("usage: ts-node tools/projectFile.ts --write | --check\n");
        process.exitCode = 2;
    }
}
