/**
 * Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the Pulumi CLI would hand their config to the
 * program: project defaults applied, keys namespaced, values as strings (arrays as JSON). A
 * `secure:` value cannot be decrypted offline, and a required secret may be unset: both become a
 * placeholder secret, and their names are reported so the caller can say so on stderr.
 *
 * A file that is not what Pulumi expects (a YAML error, a list where a map belongs, a value of the
 * wrong shape for a homeiq key, the same key twice) is refused with ConfigValidationError naming
 * the file and line, like any other config problem (the synth exits 2). Every key read is
 * remembered with its file and line, so config problems found later can say where the value is.
 */
import * as fs from "fs";
import * as path from "path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from "yaml";
import { CONFIG_KEYS, type ConfigKey } from "../config/keys";
import { nearestName } from "../config/keyNames";
import { ConfigValidationError } from "../config/loadConfig";
import { fixCommand, shellQuote, type ConfigProblem } from "../config/problems";
import { stackNameProblem } from "../config/schema";

export interface StackFileConfig {
    readonly project: string;
    /** `namespace:key` → string value, as in PULUMI_CONFIG. */
    readonly config: Record<string, string>;
    readonly secretKeys: string[];
    /** Keys whose value is a placeholder because it was encrypted or a required secret was unset. */
    readonly placeholders: Array<{ key: string; reason: string }>;
    /** `namespace:key` (and `namespace:key[i]` for list entries) → `Pulumi.<stack>.yaml line N`. */
    readonly locations: Record<string, string>;
    /**
     * Values of homeiq keys with the wrong YAML shape (a map where a list belongs, ...): left out of
     * `config`, each a problem naming its key and line. (Problems that leave the file unreadable are
     * thrown instead.)
     */
    readonly problems: ConfigProblem[];
}

/** The top-level keys of a stack file Pulumi knows. */
const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"];

const asConfigString = (v: unknown): string => (typeof v === "string" ? v : v === null || v === undefined ? "" : JSON.stringify(v));

/** A placeholder long enough to pass every length rule, and recognisable in a leak check. */
export const placeholderFor = (key: string): string => `synth-placeholder-for-${key.replace(/[^A-Za-z0-9]/g, "-")}-0000000000`;

/** One YAML file, parsed, with what is wrong with it. */
class YamlFile {
    readonly name: string;
    readonly doc: Document.Parsed;
    readonly problems: ConfigProblem[] = [];
    private readonly lines = new LineCounter();

    constructor(readonly file: string) {
        this.name = path.basename(file);
        this.doc = parseDocument(fs.readFileSync(file, "utf8"), { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
        for (const e of this.doc.errors) {
            const line = this.lines.linePos(e.pos[0]).line;
            const what = e.code === "DUPLICATE_KEY" ? "gives the same key twice (the last one would silently win)" : `is not valid YAML (${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")})`;
            this.fail(line, "(YAML)", what, "a YAML map, each key once");
        }
    }

    where(node: Node | Pair | null | undefined): string | undefined {
        const n = node && "range" in node ? node : (node as Pair | undefined)?.key;
        const offset = (n as Node | undefined)?.range?.[0];
        return offset === undefined ? undefined : `${this.name} line ${this.lines.linePos(offset).line}`;
    }

    fail(line: number | string | undefined, value: string, problem: string, allowed: string): void {
        const where = typeof line === "number" ? `${this.name} line ${line}` : line;
        this.problems.push({ key: this.name, value, problem, allowed, fix: `edit ${shellQuote(this.name)}${where ? ` (${where.replace(`${this.name} `, "")})` : ""}`, where });
    }

    failAt(node: Node | Pair | null | undefined, value: string, problem: string, allowed: string): void {
        this.fail(this.where(node), value, problem, allowed);
    }

    /** The whole document as plain data (aliases resolved), or undefined with a problem. */
    data(): unknown {
        try {
            return this.doc.toJS({ maxAliasCount: 100 });
        } catch (e) {
            this.fail(undefined, "(YAML)", `cannot be read as data (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`, "plain YAML maps, lists and values");
            return undefined;
        }
    }

    /** The document's top level as a map's pairs; a problem when it is anything else. */
    topLevel(): Pair[] {
        const contents = this.doc.contents;
        if (contents === null || (isScalar(contents) && contents.value === null)) return [];
        if (!isMap(contents)) {
            this.failAt(contents, kind(contents), "must be a YAML map at its top level", "key: value lines, such as config:");
            return [];
        }
        return contents.items;
    }
}

function kind(node: unknown): string {
    if (isMap(node)) return "(a map)";
    if (isSeq(node)) return "(a list)";
    if (isScalar(node)) return typeof node.value === "string" ? "(text)" : `(${String(node.value)})`;
    return "(empty)";
}

const keyText = (pair: Pair): string | undefined => (isScalar(pair.key) && typeof pair.key.value === "string" ? pair.key.value : undefined);

/** The stack's config as Pulumi would pass it, or ConfigValidationError naming each file problem. */
export function readStackFiles(projectDir: string, stack: string): StackFileConfig {
    const projectFile = path.join(projectDir, "Pulumi.yaml");
    const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(stackFile)) {
        const known = listStacks(projectDir);
        const meant = nearestName(stack, known);
        throw new ConfigValidationError(stack, [
            {
                key: `Pulumi.${stack}.yaml`,
                value: "(missing)",
                problem: `does not exist: there is no stack ${JSON.stringify(stack)} here${meant ? `; did you mean ${meant}?` : ""}`,
                allowed: `a stack with its own Pulumi.<stack>.yaml; here: ${known.join(", ") || "none"}`,
                fix: meant
                    ? `npm run synth -- ${shellQuote(meant)}`
                    : `pulumi stack init ${shellQuote(stack)} && pulumi config set homeiq:profile dev --stack ${shellQuote(stack)}`,
            },
        ]);
    }
    // A stack file that exists under a name Docker names cannot start with.
    const nameProblem = stackNameProblem(stack);
    if (nameProblem) throw new ConfigValidationError(stack, [nameProblem]);

    const project = new YamlFile(projectFile);
    const declared = projectDeclarations(project);
    const file = new YamlFile(stackFile);
    const ns = declared.name;
    const fullKey = (k: string): string => (k.includes(":") ? k : `${ns}:${k}`);

    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: Array<{ key: string; reason: string }> = [];
    const locations: Record<string, string> = {};

    let configPairs: Pair[] = [];
    const shapeProblems: ConfigProblem[] = [];
    const data = file.problems.length === 0 ? file.data() : undefined;
    const configData = (data !== null && typeof data === "object" && "config" in data ? (data as { config: unknown }).config : undefined) as Record<string, unknown> | undefined;
    // A file with YAML errors is not read further: its structure is not what it seems.
    for (const pair of file.doc.errors.length > 0 ? [] : file.topLevel()) {
        const key = keyText(pair);
        if (key === "config") {
            if (isMap(pair.value)) configPairs = pair.value.items;
            else if (!(pair.value === null || (isScalar(pair.value) && pair.value.value === null))) {
                file.failAt(pair.value as Node, kind(pair.value), "has config: that is not a map", "config: followed by indented key: value lines");
            }
        } else if (key === undefined || !STACK_FILE_KEYS.includes(key)) {
            const near = key !== undefined && key.toLowerCase().replace(/[^a-z]/g, "").startsWith("conf") ? " (did you mean config?)" : "";
            file.failAt(pair, key === undefined ? kind(pair.key) : JSON.stringify(key), `is not a key Pulumi reads in a stack file${near}; everything under it would be ignored`, STACK_FILE_KEYS.join(", "));
        }
    }

    for (const pair of configPairs) {
        const name = keyText(pair);
        if (name === undefined) {
            file.failAt(pair, kind(pair.key), "is not a config key: keys are plain text such as homeiq:profile", "namespace:key text keys");
            continue;
        }
        const k = fullKey(name);
        const where = file.where(pair);
        if (k in config) {
            file.failAt(pair, JSON.stringify(name), `gives ${k} a second time (first at ${locations[k]}); the last one would silently win`, "each key once");
            continue;
        }
        if (where) locations[k] = where;
        const value = (isAlias(pair.value) ? pair.value.resolve(file.doc) : pair.value) as Node | null;
        if (isMap(value)) {
            const secure = value.items.length === 1 && keyText(value.items[0]) === "secure" && isScalar(value.items[0].value) && typeof value.items[0].value.value === "string";
            if (secure) {
                config[k] = placeholderFor(k);
                secretKeys.push(k);
                placeholders.push({ key: k, reason: "encrypted (secure:) value cannot be decrypted offline" });
                continue;
            }
        }
        const ours = k.startsWith(`${ns}:`) ? k.slice(ns.length + 1) : undefined;
        if (ours !== undefined && Object.hasOwn(CONFIG_KEYS, ours) && !shapeFits(file, ours as ConfigKey, value, locations, shapeProblems)) {
            continue;
        }
        config[k] = asConfigString(configData?.[name]);
    }

    for (const [key, decl] of Object.entries(declared.config)) {
        const k = fullKey(key);
        if (k in config || decl === null || typeof decl !== "object") continue;
        if (decl.default !== undefined) {
            config[k] = asConfigString(decl.default);
        } else if (decl.secret) {
            config[k] = placeholderFor(k);
            secretKeys.push(k);
            placeholders.push({ key: k, reason: "required secret is not set in the stack file" });
        }
    }
    const problems = [...project.problems, ...file.problems];
    if (problems.length > 0) throw new ConfigValidationError(stack, problems);
    return { project: ns, config, secretKeys, placeholders, locations, problems: shapeProblems };
}

/**
 * Whether a homeiq key's YAML value has the shape its type needs (else a problem for that key, whose
 * fix removes the value: Pulumi can still edit the file); records list entries' lines.
 */
function shapeFits(file: YamlFile, key: ConfigKey, value: Node | null, locations: Record<string, string>, problems: ConfigProblem[]): boolean {
    const type = CONFIG_KEYS[key].type;
    const wrong = (node: unknown, index: number | undefined, problem: string, allowed: string): void => {
        const full = index === undefined ? `homeiq:${key}` : `homeiq:${key}[${index}]`;
        problems.push({ key: full, value: kind(node), problem, allowed, fix: index === undefined ? fixCommand.rm(key) : fixCommand.rmAt(key, index), where: file.where(node as Node) });
    };
    if (type === "array") {
        if (value === null || (isScalar(value) && value.value === null)) return true;
        if (!isSeq(value)) {
            wrong(value, undefined, `is ${kind(value).slice(1, -1)}; it takes a list of strings`, "a YAML list: one '- entry' line each");
            return false;
        }
        let fits = true;
        value.items.forEach((item, i) => {
            const where = file.where(item as Node);
            if (where) locations[`homeiq:${key}[${i}]`] = where;
            if (!isScalar(item)) {
                wrong(item, i, `is ${kind(item).slice(1, -1)}; each entry is one string`, "one string per '- entry' line");
                fits = false;
            }
        });
        return fits;
    }
    if (value !== null && !isScalar(value)) {
        wrong(value, undefined, `is ${kind(value).slice(1, -1)}; it takes one ${type} value`, `one ${type} value on the key's line`);
        return false;
    }
    return true;
}

interface ProjectConfigDeclaration {
    type?: string;
    secret?: boolean;
    default?: unknown;
}

/** Pulumi.yaml's project name and config declarations; its problems go to the file's list. */
function projectDeclarations(project: YamlFile): { name: string; config: Record<string, ProjectConfigDeclaration> } {
    let name = "";
    let config: Record<string, ProjectConfigDeclaration> = {};
    for (const pair of project.topLevel()) {
        const key = keyText(pair);
        if (key === "name") {
            if (isScalar(pair.value) && typeof pair.value.value === "string" && /^[A-Za-z0-9_.-]+$/.test(pair.value.value)) name = pair.value.value;
            else project.failAt(pair, kind(pair.value), "has a project name that is not plain text", "name: homeiq");
        } else if (key === "config") {
            if (isMap(pair.value)) config = pair.value.toJSON() as Record<string, ProjectConfigDeclaration>;
            else project.failAt(pair, kind(pair.value), "has config: that is not a map", "config: with one declaration per key");
        }
    }
    if (!name && project.problems.length === 0) project.fail(undefined, "(missing)", "has no project name", "name: homeiq");
    return { name, config };
}

export function listStacks(projectDir: string): string[] {
    return fs
        .readdirSync(projectDir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined);
}
