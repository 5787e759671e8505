/**
 * The parts of the Markdown docs that are facts of the code, written from the code: each sits between
 * `<!-- generated: NAME -->` and `<!-- end generated: NAME -->` in a file below, and is rewritten
 * whole. Everything else in those files is prose and left as it is.
 *
 *   npm run write:docs    rewrite every generated block
 *   npm run check:docs    exit 1, naming the blocks, when a block differs from what would be written (npm test runs it)
 */
import * as fs from "fs";
import * as path from "path";
import { ALL_SERVICES, SERVICE_CATALOG, SERVICE_KEYS } from "../catalog/services";
import { HEALTH_CHECK_TIMING } from "../components/homeiqService";
import { CONFIG_KEY_NAMES, GENERATED_SECRETS, recordOf, type ConfigKey } from "../config/keys";

const ROOT = path.join(__dirname, "..");

/** The files that hold generated blocks. */
export const DOC_FILES = ["README.md", "docs/configuration.md", "docs/homeiq.md"] as const;

const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/\n/g, " ");
const code = (text: string): string => (text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``);

function defaultOf(k: ConfigKey): string {
    const r = recordOf(k);
    if (r.generatedLength !== undefined) return `generated (${r.generatedLength} characters)`;
    if (r.default === undefined) return "**required**";
    if (r.default === "" || (Array.isArray(r.default) && r.default.length === 0)) return "unset";
    return code(Array.isArray(r.default) ? JSON.stringify(r.default) : String(r.default));
}

function exampleOf(k: ConfigKey): string {
    const r = recordOf(k);
    if (r.secret) return code(`pulumi config set --secret homeiq:${k} --stack <stack>`);
    if (r.example === undefined) return "";
    if (typeof r.example === "string") return code(`pulumi config set homeiq:${k} ${/^[A-Za-z0-9_@%+=:,./-]+$/.test(r.example) ? r.example : `'${r.example}'`} --stack <stack>`);
    return code(`pulumi config set --path 'homeiq:${k}[0]' '${r.example[0]}' --stack <stack>`);
}

/** Every config key, from its record (config/keys.ts). */
export function configKeyTable(): string {
    const lines = ["| key | type | default | what it is | allowed | set it | plan fields it feeds |", "|---|---|---|---|---|---|---|"];
    for (const k of CONFIG_KEY_NAMES) {
        const r = recordOf(k);
        const type = r.secret ? `${r.type}, **secret**` : r.type;
        lines.push(`| \`${k}\` | ${type} | ${defaultOf(k)} | ${cell(r.description)} | ${cell(r.allowed)} | ${exampleOf(k)} | ${r.feeds.map(code).join(", ")} |`);
    }
    return lines.join("\n");
}

/** The counts the README states. */
export function platformFacts(): string {
    const built = ALL_SERVICES.filter((s) => s.image.kind === "built").length;
    const stock = SERVICE_KEYS.filter((k) => SERVICE_CATALOG[k].image.kind === "stock").map((k) => k);
    return [
        `- ${SERVICE_KEYS.length} containers of HomeIQ: ${built} services built from a HomeIQ checkout, and ${stock.join(", ")} from its stock image;`,
        `- ${CONFIG_KEY_NAMES.length} config keys ([docs/configuration.md](docs/configuration.md#every-key)), ${Object.keys(GENERATED_SECRETS).length} of them credentials generated when unset.`,
    ].join("\n");
}

/** The health-check timing every container gets (components/homeiqService.ts HEALTH_CHECK_TIMING). */
export function healthCheckTiming(): string {
    const t = HEALTH_CHECK_TIMING;
    const human = (d: string): string => d.replace(/^(\d+)s$/, "$1 s").replace(/^(\d+)ms$/, "$1 ms");
    return `Health checks run inside the container every ${human(t.interval)} (timeout ${human(t.timeout)}, ${t.retries} retries, start interval ${human(t.startInterval)}, which needs Docker Engine ≥ 25).`;
}

export const GENERATORS: Readonly<Record<string, () => string>> = {
    "config-keys": configKeyTable,
    "platform-facts": platformFacts,
    "health-check-timing": healthCheckTiming,
};

const BLOCK = /(<!-- generated: ([a-z-]+) -->\n)([\s\S]*?)(<!-- end generated: \2 -->)/g;

/** `text` with every generated block rewritten; throws on a block nobody generates. */
export function withGeneratedBlocks(text: string, file: string): string {
    return text.replace(BLOCK, (_all, open: string, name: string, _body: string, close: string) => {
        const generate = GENERATORS[name];
        if (!generate) throw new Error(`${file}: no generator for the block '${name}' (tools/generatedDocs.ts GENERATORS)`);
        return `${open}${generate()}\n${close}`;
    });
}

if (require.main === module) {
    const mode = process.argv[2];
    if (mode !== "--write" && mode !== "--check") {
        process.stderr.write("usage: ts-node tools/generatedDocs.ts --write | --check\n");
        process.exit(2);
    }
    const stale: string[] = [];
    for (const file of DOC_FILES) {
        const full = path.join(ROOT, file);
        const current = fs.readFileSync(full, "utf8");
        const wanted = withGeneratedBlocks(current, file);
        if (wanted === current) continue;
        if (mode === "--write") fs.writeFileSync(full, wanted);
        stale.push(file);
    }
    if (mode === "--write") {
        process.stdout.write(stale.length === 0 ? "generated blocks already current\n" : `rewrote the generated blocks of ${stale.join(", ")}\n`);
    } else if (stale.length > 0) {
        process.stderr.write(`${stale.join(", ")}: a generated block differs from the code. Run \`npm run write:docs\` and commit the result.\n`);
        process.exitCode = 1;
    }
}
