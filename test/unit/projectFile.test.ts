/** Pulumi.yaml declares exactly the keys the program reads, with the same types and defaults. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CONFIG_KEYS, type ConfigKeyDeclaration } from "../../config/keys";
import { parseStackConfig } from "../../config/schema";

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
