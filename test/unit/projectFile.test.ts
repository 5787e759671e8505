/** Pulumi.yaml declares exactly the keys the program reads, with the same types and defaults. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, type ConfigKeyDeclaration } from "../../config/keys";
import { parseStackConfig } from "../../config/schema";
import { configKeyTable, DOC_FILES, withGeneratedBlocks } from "../../tools/generatedDocs";
import { configBlock, withConfigBlock } from "../../tools/projectFile";

const ROOT = path.resolve(__dirname, "..", "..");
const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    runtime: { name: string };
    backend: { url: string };
    config: Record<string, { type: string; description: string; default?: unknown; secret?: boolean; items?: { type: string } }>;
};

it("is the homeiq project on nodejs with a local file backend", () => {
    expect(project.name).toBe("homeiq");
    expect(project.runtime.name).toBe("nodejs");
    expect(project.backend.url).toMatch(/^file:\/\//);
});

it("declares every config key of the program, and no other", () => {
    expect(Object.keys(project.config).sort()).toEqual(Object.keys(CONFIG_KEYS).sort());
});

it.each(Object.entries(CONFIG_KEYS) as Array<[string, ConfigKeyDeclaration]>)("declares %s with its type, description and default", (key, decl) => {
    const declared = project.config[key];
    expect(declared.type).toBe(decl.type);
    expect(declared.description).toBe(decl.description);
    expect(declared.default).toEqual(decl.default);
    // Pulumi refuses a default on a secret key, so only required secrets are declared secret.
    expect(declared.secret ?? false).toBe(decl.secret && decl.default === undefined);
    if (decl.type === "array") expect(declared.items).toEqual({ type: "string" });
});

it.each(["dev", "prod"])("ships a Pulumi.%s.yaml whose plain values pass validation", (stack) => {
    const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, unknown> };
    const values: Record<string, unknown> = { homeAssistantToken: "a-long-lived-token-for-this-test" };
    for (const [k, v] of Object.entries(doc.config)) values[k.replace(/^homeiq:/, "")] = typeof v === "string" ? v : JSON.stringify(v);
    const result = parseStackConfig(values);
    expect(result.ok ? [] : result.problems).toEqual([]);
    expect(Object.values(doc.config).some((v) => typeof v === "object" && v !== null && "secure" in v)).toBe(false);
});

describe("the config: block is written from config/keys.ts (tools/projectFile.ts)", () => {
    const text = fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");

    it("is exactly what the writer produces, so `npm run check:project-file` passes on the committed file", () => {
        expect(withConfigBlock(text)).toBe(text);
    });

    it("replaces only the block: a changed declaration is rewritten, everything above `config:` is kept", () => {
        const edited = text.replace('default: "admin"', 'default: "root"');
        expect(edited).not.toBe(text);
        expect(withConfigBlock(edited)).toBe(text);
        const header = text.slice(0, text.search(/^config:/m));
        expect(withConfigBlock(`${header}config:\n  stale:\n    type: string\n`)).toBe(text);
    });

    it("refuses a file where another top-level key follows `config:` (it would be cut off)", () => {
        expect(() => withConfigBlock(`${text}extra: 1\n`)).toThrow(/'config:' must be the last top-level key/);
    });

    it("declares what the CLI reads: a generated block parses to the declarations", () => {
        const block = parse(configBlock()) as { config: Record<string, { type: string; default?: unknown; description: string }> };
        for (const [key, decl] of Object.entries(CONFIG_KEYS)) {
            expect({ key, type: block.config[key].type, default: block.config[key].default, description: block.config[key].description }).toEqual({
                key,
                type: decl.type,
                default: (decl as ConfigKeyDeclaration).default,
                description: decl.description,
            });
        }
    });
});

describe("the generated blocks of the docs (tools/generatedDocs.ts)", () => {
    it.each(DOC_FILES)("%s is current, so `npm run check:docs` passes", (file) => {
        const text = fs.readFileSync(path.join(ROOT, file), "utf8");
        expect(withGeneratedBlocks(text, file)).toBe(text);
    });

    it("lists every config key in docs/configuration.md, once", () => {
        const text = fs.readFileSync(path.join(ROOT, "docs/configuration.md"), "utf8");
        for (const key of Object.keys(CONFIG_KEYS)) expect(text.split(`\n| \`${key}\` |`).length - 1).toBe(1);
    });

    it("rewrites a stale block and refuses a block nobody generates", () => {
        const stale = "intro\n<!-- generated: config-keys -->\nold table\n<!-- end generated: config-keys -->\noutro\n";
        expect(withGeneratedBlocks(stale, "x.md")).toBe(`intro\n<!-- generated: config-keys -->\n${configKeyTable()}\n<!-- end generated: config-keys -->\noutro\n`);
        expect(() => withGeneratedBlocks("<!-- generated: nothing -->\n<!-- end generated: nothing -->\n", "x.md")).toThrow("x.md: no generator for the block 'nothing'");
    });
});
