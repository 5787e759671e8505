/**
 * The mutations of tools/mutation.ts: each deletes or breaks one rule of config/, policy/ or scripts/,
 * with the tests to run against it. `find` must occur exactly once in `file`. `why` says, for a
 * mutation that survives on purpose, why no test can tell it apart.
 */
export interface Mutation {
    readonly id: string;
    readonly file: string;
    readonly what: string;
    readonly find: string;
    readonly replace: string;
    /** "unit", or the engine test files to run. */
    readonly run: "unit" | readonly string[];
    /** For a unit mutation: the test files tried first, on their own (tools/mutation.ts, jestRuns). */
    readonly fast?: readonly string[];
    readonly why?: string;
}

const unit = (id: string, file: string, what: string, find: string, replace: string, why?: string, fast?: readonly string[]): Mutation => ({ id, file, what, find, replace, run: "unit", why, fast });
const engine = (files: readonly string[]) => (id: string, file: string, what: string, find: string, replace: string, why?: string): Mutation => ({ id, file, what, find, replace, run: files, why });

const R = "catalog/rules.ts";
const F = "config/values.ts";
const K = "config/keys.ts";
const S = "config/schema.ts";
const P = "config/problems.ts";
const POL = "policy/policies.ts";

export const MUTATIONS: readonly Mutation[] = [
    // ---- catalog/rules.ts ----
    unit("rules.forbidden-none", R, "no character is forbidden", "    if (!m) return undefined;", "    if (m || !m) return undefined;"),
    unit("rules.forbidden-format", R, "format characters (bidi, zero-width) allowed", String.raw`[\p{Cc}\p{Cf}\u2028\u2029]`, String.raw`[\p{Cc}\u2028\u2029]`),
    unit("rules.forbidden-surrogate", R, "lone surrogates allowed", String.raw`|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u`, "/u"),
    unit("rules.port-max", R, "ports above 65535 allowed", "export const PORT = { min: 1, max: 65535 } as const;", "export const PORT = { min: 1, max: 70000 } as const;"),
    unit("rules.port-min", R, "port 0 allowed", "export const PORT = { min: 1, max: 65535 } as const;", "export const PORT = { min: 0, max: 65535 } as const;"),
    unit("rules.memory-min", R, "memory limit below 16 MiB allowed", "export const MEMORY_MIB = { min: 16,", "export const MEMORY_MIB = { min: 6,"),
    unit("rules.reservation-min", R, "reservation below 6 MiB allowed", "export const MEMORY_RESERVATION_MIB = { min: 6,", "export const MEMORY_RESERVATION_MIB = { min: 1,"),
    unit("rules.cpus-min", R, "CPU below 0.1 allowed", "export const CPUS = { min: 0.1,", "export const CPUS = { min: 0.01,"),
    unit("rules.cpus-max", R, "CPU above 64 allowed", "max: 64, decimals: 2 }", "max: 128, decimals: 2 }"),
    unit("rules.cpus-decimals", R, "three decimals of CPU allowed", "max: 64, decimals: 2 }", "max: 64, decimals: 3 }"),
    unit("rules.health-wait-max", R, "health waits above an hour allowed", "export const HEALTH_WAIT_SECONDS = { min: 1, max: 3600 } as const;", "export const HEALTH_WAIT_SECONDS = { min: 1, max: 7200 } as const;"),
    unit("rules.retention-max", R, "retention above set-retention.sh's 99999 days allowed", "export const RETENTION_DAYS_MAX = 99999;", "export const RETENTION_DAYS_MAX = 100000;"),
    unit("rules.counter-max", R, "counters past int32 allowed", "export const COUNTER_MAX = 2147483647;", "export const COUNTER_MAX = 4294967295;"),
    unit("rules.group-id-max", R, "group ids past 2^31-1 allowed", "export const GROUP_ID_MAX = 2147483647;", "export const GROUP_ID_MAX = 4294967295;"),
    unit("rules.backup-keep-max", R, "more than 1000 backups kept", "export const BACKUP_KEEP_MAX = 1000;", "export const BACKUP_KEEP_MAX = 1001;"),
    unit("rules.backup-path-space", R, "spaces in backup paths allowed", `new RegExp("^/[A-Za-z0-9_./+-]*$")`, `new RegExp("^/[A-Za-z0-9_./+ -]*$")`),
    unit("rules.stack-name-upper", R, "upper-case stack names allowed", "export const RE_STACK_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;", "export const RE_STACK_NAME = /^[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*$/;"),
    unit("rules.stack-name-max", R, "stack names over 64 characters allowed", "export const STACK_NAME_MAX = 64;", "export const STACK_NAME_MAX = 200;"),
    unit("rules.influx-name", R, "InfluxDB names may start with '-'", "export const RE_INFLUX_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;", "export const RE_INFLUX_NAME = /^[A-Za-z0-9_.-]{1,63}$/;"),
    unit("rules.socket-path-max", R, "unix socket paths over 107 bytes allowed", "export const UNIX_SOCKET_PATH_MAX = 107;", "export const UNIX_SOCKET_PATH_MAX = 200;"),
    unit("rules.image-upper", R, "upper-case image repositories allowed", `const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";`, `const PATH_COMPONENT = "[A-Za-z0-9]+(?:(?:[._]|__|-+)[A-Za-z0-9]+)*";`),
    unit("rules.image-tag", R, "any image tag allowed", "    if (tag !== undefined && !RE_IMAGE_TAG.test(tag)) return undefined;\n", ""),
    unit("rules.image-digest", R, "any digest allowed", "    if (digest !== undefined && !RE_SHA256_DIGEST.test(digest)) return undefined;\n", ""),
    unit("rules.digest-length", R, "short sha256 digests allowed", "export const RE_SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;", "export const RE_SHA256_DIGEST = /^sha256:[a-f0-9]+$/;"),
    unit("rules.image-name-max", R, "image names over 255 characters allowed", " || name.length > IMAGE_NAME_MAX", ""),
    unit("rules.url-password", R, "passwords in URLs not recognised", String.raw`export const RE_URL_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@\s:]*):([^/@\s]*)@/;`, "export const RE_URL_PASSWORD = /(?!)(x)(y)/;"),
    unit("rules.mask-password", R, "a URL's password shown in errors", `return value.replace(RE_URL_PASSWORD, "$1:[secret]@");`, "return value;"),
    unit("rules.text-max", R, "free text over 256 characters allowed", "export const TEXT_MAX = 256;", "export const TEXT_MAX = 100000;"),
    unit("rules.secret-max", R, "secrets over 4096 characters allowed", "export const SECRET_MAX = 4096;", "export const SECRET_MAX = 100000;"),
    unit("rules.url-max", R, "URLs over 2048 characters allowed", "export const URL_MAX = 2048;", "export const URL_MAX = 100000;"),
    unit("rules.path-max", R, "paths over 1024 characters allowed", "export const PATH_MAX = 1024;", "export const PATH_MAX = 100000;"),
    unit("rules.list-max", R, "lists over 64 entries allowed", "export const LIST_MAX = 64;", "export const LIST_MAX = 100000;"),

    // ---- config/values.ts, config/keys.ts ----
    unit("fields.placeholder-list", F, "the old placeholder credentials accepted as secrets", "return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());", "return /^<.*>$/.test(value.trim());"),
    unit("fields.placeholder-unfilled", F, "an unfilled <...> accepted as a secret", "return isPlaceholderCredential(value) || /^<.*>$/.test(value.trim());", "return isPlaceholderCredential(value);"),
    unit("fields.token-min", F, "short influxdbAdminToken accepted", "export const MIN_TOKEN_LENGTH = 24;", "export const MIN_TOKEN_LENGTH = 1;"),
    unit("fields.text-forbidden", F, "control characters accepted in every text key", "const bad = forbiddenCharacter(raw);", "const bad = undefined as string | undefined;"),
    unit("fields.text-max", F, "length limits of text keys off", ": value.length > max", ": value.length > max * 1000"),
    unit("fields.text-spaces", F, "spaces around untrimmed values accepted", ": !options.trim && raw !== raw.trim()", ": false"),
    unit("fields.text-rules", F, "every key's own rules skipped", ": rules.map((rule) => rule(value)).find((p) => p !== undefined);", ": undefined;"),
    unit("fields.text-trim", F, "trimmed keys deployed untrimmed", "const value = options.trim ? raw.trim() : raw;", "const value = raw;"),
    unit("fields.integer-min", F, "integers below their minimum accepted", ".min(min, { error: belowMin, abort: true })", ".min(-1e18, { error: belowMin, abort: true })"),
    unit("fields.integer-max", F, "integers above their maximum accepted", ".max(max, { error: `must be at most ${max}`, abort: true })", ".max(1e18, { error: `must be at most ${max}`, abort: true })"),
    unit("fields.integer-int", F, "fractions accepted as integers", "\n            .int({ error: \"must be a whole number\" }),", ","),
    unit("fields.list-max", F, "lists longer than LIST_MAX accepted", ".max(LIST_MAX, { error:", ".max(100000, { error:"),
    unit("fields.non-empty", F, "empty required text accepted", `(v.length === 0 ? "must not be empty" : undefined)`, "(undefined)"),
    unit("fields.secret-min", F, "secrets shorter than their minimum accepted", "(v.length < minLength ?", "(v.length < 0 ?"),
    unit("fields.secret-one-word", F, "tokens with spaces accepted", String.raw`(kind === "token" && /\s/.test(v) ?`, "(false ?"),
    unit("fields.secret-placeholder", F, "placeholders accepted as secrets", "(isPlaceholderSecret(v) ? placeholderMessage : undefined)", "(undefined)"),
    unit("fields.with-port", F, "ports out of range in URLs accepted", "port !== undefined && (Number(port) < PORT.min || Number(port) > PORT.max)", "false"),
    unit("fields.docker-host-password", F, "a password in dockerHost accepted", `if (RE_URL_PASSWORD.test(v)) return "holds a password; use ssh`, `if (false) return "holds a password; use ssh`),
    unit("fields.docker-host-unix-chars", F, "any unix socket path accepted", String.raw`if (!/^\/[A-Za-z0-9_./-]+$/.test(unix[1]) || unix[1].split("/").includes("..")) return`, "if (false) return"),
    unit("fields.docker-host-unix-dotdot", F, "'..' in the socket path accepted", ` || unix[1].split("/").includes(".."))`, ")"),
    unit("fields.docker-host-unix-length", F, "socket paths past the kernel's limit accepted", "if (unix[1].length > UNIX_SOCKET_PATH_MAX) return", "if (false) return"),
    unit("fields.docker-host-ssh-port", F, "ssh ports out of range accepted", "if (ssh) return withPort(ssh[3]);", "if (ssh) return undefined;"),
    unit("fields.docker-host-tcp-port", F, "tcp ports out of range accepted", "if (tcp) return withPort(tcp[2]);", "if (tcp) return undefined;"),
    unit("fields.docker-host-scheme", F, "any dockerHost scheme accepted", `return "must be unix:///path, ssh://user@host[:port] or tcp://host:port";`, "return undefined;"),
    unit("fields.ha-url-credentials", F, "user and password in homeAssistantUrl accepted", String.raw`if (RE_URL_PASSWORD.test(v) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*@/.test(v)) {`, "if (false) {"),
    unit("fields.ha-url-user", F, "a user name (no password) in homeAssistantUrl accepted", String.raw` || /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*@/.test(v)) {`, ") {"),
    unit("fields.ha-url-scheme", F, "any scheme in homeAssistantUrl accepted", "const m = new RegExp(`^(https?|wss?)://", "const m = new RegExp(`^([a-z]+)://"),
    unit("fields.ha-url-port", F, "homeAssistantUrl ports out of range accepted", "    return withPort(m[3]);\n}\n\n/** `/a//b", "    return undefined;\n}\n\n/** `/a//b"),
    unit("fields.tidy-path", F, "paths deployed untidied", String.raw`const tidyPath = (v: string): string => path.posix.normalize(v).replace(/(.)\/+$/, "$1");`, "const tidyPath = (v: string): string => v;"),
    unit("fields.no-dotdot", F, "'..' in paths accepted", `(v.split("/").includes("..") ? "must not contain '..'" : undefined)`, "(undefined)"),
    unit("fields.backup-path-chars", F, "backup paths the scripts refuse accepted", `return RE_BACKUP_PATH.test(rest) ? undefined :`, "return true ? undefined :"),
    unit("fields.restore-home", F, "restoreFrom's ~ left for restore.sh, which does not expand it", "    .transform((v) => expandHome(v))\n", "\n"),
    unit("fields.decimal-range", F, "latitude/longitude out of range accepted", String.raw`(\.\d{1,10})?$/.test(v) && Number(v) >= min && Number(v) <= max ?`, String.raw`(\.\d{1,10})?$/.test(v) ?`),
    unit("fields.unset-if-empty", F, "\"\" no longer means unset", `(v === "" ? undefined : v)`, "(v)"),
    unit("fields.influx-name", F, "any InfluxDB user/org/bucket name accepted", "(RE_INFLUX_NAME.test(v) ? undefined :", "(true ? undefined :"),
    unit("fields.free-text-required", F, "empty required free text accepted", "required ? [nonEmpty] : []", "[]"),
    unit("fields.image-reference", F, "any influxdbImage accepted", "(parseImageReference(v) ? undefined :", "(true ? undefined :"),
    unit("fields.profile-own-key", K, "inherited names (constructor, toString) accepted as profiles", `(Object.hasOwn(PROFILES, v) ? undefined : "is not a known profile")`, `(v in PROFILES ? undefined : "is not a known profile")`),
    unit("fields.checkout-absolute", F, "a relative homeiqCheckoutPath accepted", `(v.startsWith("/") || isHomePath(v) ? undefined : "must be an absolute path (or ~/...)")`, "(undefined)"),
    unit("fields.checkout-dotdot", F, "'..' in homeiqCheckoutPath accepted", `"must be an absolute path (or ~/...)"), noDotDot]).transform((v) => tidyPath(expandHome(v)))`, `"must be an absolute path (or ~/...)")]).transform((v) => tidyPath(expandHome(v)))`),
    unit("fields.restore-partial", K, "a .partial restoreFrom accepted", `.refine((v) => !v.endsWith(".partial"),`, ".refine((v) => v === v,"),
    unit("fields.boolean", F, "postDeployValidation and acceptPlaceholderInfluxdbToken take any value", `export const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : v),`, `export const bool = z.preprocess((v) => (v === "true" ? true : v === "false" ? false : Boolean(v)),`),
    unit("fields.socket-group-max", K, "group ids past GROUP_ID_MAX accepted", "wholeNumber(10, 0, GROUP_ID_MAX,", "wholeNumber(10, 0, 9999999999,"),
    unit("fields.bind-address-ip", F, "any dashboardBindAddress accepted", "z.union([z.ipv4(), z.ipv6()], {", "z.union([z.string()], {"),
    unit("fields.admin-token-space", K, "influxdbAdminToken with spaces accepted", String.raw`(/\s/.test(v) ? "contains a space; a token or key is one word" : undefined)])),`, "(undefined)])),"),
    unit("fields.wrong-type-once", S, "a value of the wrong type reported with zod's follow-on issues", `const wrongType = result.error.issues.find((i) => i.code === "invalid_type" && i.path.length === 0);`, "const wrongType = undefined as (typeof result.error.issues)[number] | undefined;"),
    unit("fields.required-message", S, "a missing required key not called 'required but not set'", `raw[key] === undefined && issue.code === "invalid_type" ? "is required but not set" : issue.message`, "issue.message"),
    unit("fields.entry-fix", S, "a bad list entry's fix removes the whole key", "index !== undefined\n                    ? fixCommand.rmAt(key, index)", "false\n                    ? fixCommand.rmAt(key, index ?? 0)"),
    unit("fields.too-long-fix", S, "a too-long list's fix removes the whole key", `: issue.code === "too_big" && recordOf(key).type === "array"`, ": false"),
    unit("fields.record-fix", S, "a record's own fix (dockerSocketGroupId's quoted command substitution) ignored", "    if (record.fix !== undefined) return record.fix;\n", ""),

    // ---- config/problems.ts, config/keyNames.ts ----
    unit("problems.secret-shown", P, "a secret's value shown in errors", `    if (isSecretKey(key)) return value === undefined || value === "" ? "(not set)" : "[secret]";\n`, ""),
    unit("problems.shell-quote", P, "fix commands not shell-quoted", "return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word :", "return true ? word :"),
    unit("problems.escape-controls", P, "invisible characters shown raw in errors", String.raw`.replace(/[\u007f-\u009f\p{Cf}\u2028\u2029]/gu,`, String.raw`.replace(/(?!)/gu,`),
    unit("problems.cut-long", P, "long values shown whole", "const cut = text.length > SHOW_MAX ?", "const cut = false ?"),
    unit("keynames.off", S, "unknown and misplaced keys accepted", "    checkKeyNames(problems, {", "    ((..._: unknown[]) => undefined)(problems, {"),

    // ---- config/schema.ts ----
    unit("schema.entry-field", S, "service:field=value accepted where only service=value is", `if (field !== undefined && key !== "resourceOverrides") {`, "if (false) {"),
    unit("schema.entry-unknown-service", S, "entries for services that do not exist accepted", "if (!isServiceKey(service)) {", "if (false) {"),
    unit("schema.entry-duplicate", S, "a second entry for the same service accepted (last wins)", "if (first !== undefined) {\n            problems.add(key, index, raw, `gives ${id} a second time", "if (false) {\n            problems.add(key, index, raw, `gives ${id} a second time"),
    unit("schema.entry-disabled", S, "entries for disabled services accepted (silently ignored)", "if (disabled?.has(service)) {", "if (false) {"),
    unit("schema.unread-keys", S, "keys only disabled services read accepted", "    if (disabled.size > 0) checkUnreadKeys(c, enabled, isSet);\n", ""),
    unit("schema.reader-provider-secrets", K, "provider keys (weatherApiKey, ...) no longer tied to their service group", `feeds: [\`services.*.environment.\${variable}\`],\n        readers: [group],`, `feeds: [\`services.*.environment.\${variable}\`],`),
    unit("schema.stack-name", S, "any stack name accepted", "if (RE_STACK_NAME.test(stack) && stack.length <= STACK_NAME_MAX) return undefined;", "return undefined;"),
    unit("schema.stack-name-length", S, "over-long stack names accepted", " && stack.length <= STACK_NAME_MAX) return undefined;", ") return undefined;"),
    unit("schema.checkout-required", S, "imageSource=build without a checkout accepted", `if (raw.homeiqCheckoutPath === undefined || raw.homeiqCheckoutPath === "") {`, "if (false) {"),
    unit("schema.token-placeholder", S, "a placeholder influxdbAdminToken accepted", `isPlaceholderSecret(token) ? "is a placeholder credential from the old compose files" : `, ""),
    unit("schema.token-length", S, "a short influxdbAdminToken accepted", ": token.length < MIN_TOKEN_LENGTH ? `must be at least ${MIN_TOKEN_LENGTH} characters`", ": false ? ``"),
    unit("schema.token-accept-flag", S, "acceptPlaceholderInfluxdbToken ignored (a weak token refused even when accepted)", "if (tokenWeakness !== undefined && !acceptPlaceholder) {", "if (tokenWeakness !== undefined) {"),
    unit("schema.token-accept-stale", S, "acceptPlaceholderInfluxdbToken=true kept after the token was rotated", "if (acceptPlaceholder && tokenWeakness === undefined) {", "if (false) {"),
    unit("schema.disabled-reason", S, "disabling without a reason accepted", "if (e.value.length === 0) {", "if (false) {"),
    unit("schema.disabled-dependency", S, "disabling a service another needs accepted", "        if (needing.length === 0) continue;", "        continue;"),
    unit("schema.disabled-all", S, "disabling every service accepted", "if (enabled.length === 0) {", "if (false) {"),
    unit("schema.resource-field", S, "unknown resource fields accepted", "if (!field || !(RESOURCE_FIELDS as readonly string[]).includes(field)) {", "if (!field) {"),
    unit("schema.resource-bounds", S, "resource values out of bounds accepted", "if (!shape.test(e.value) || n < bounds.min || n > bounds.max) {", "if (!shape.test(e.value)) {"),
    unit("schema.resource-shape", S, "resource values like 1e3 accepted", "if (!shape.test(e.value) || n < bounds.min || n > bounds.max) {", "if (!(n >= 0) || n < bounds.min || n > bounds.max) {"),
    unit("schema.reservation-limit", S, "a reservation above the limit accepted", "if (disabled.has(key) || r.memoryReservationMiB <= r.memoryMiB) continue;", "continue;"),
    unit("schema.host-port-range", S, "host ports out of range accepted", String.raw`if (!/^\d{1,5}$/.test(e.value) || n < PORT.min || n > PORT.max) {`, String.raw`if (!/^\d{1,5}$/.test(e.value)) {`),
    unit("schema.host-port-collision", S, "two services on one host port accepted", "        if (first === undefined) {\n            owner.set(port, key);\n            continue;\n        }", "        owner.set(port, key);\n        if (first === undefined || port > 0) continue;"),
    unit("schema.host-port-offset", S, "the profile's port offset ignored", "SERVICE_CATALOG[key].defaultHostPort + profile.hostPortOffset", "SERVICE_CATALOG[key].defaultHostPort"),
    unit("schema.cors-check", S, "any CORS origin accepted", "const problem = corsProblem(origin, profile, f.profile);", "const problem = undefined as string | undefined;"),
    unit("schema.cors-duplicate", S, "the same origin twice accepted", "} else if (corsSeen.has(origin)) {", "} else if (false) {"),
    unit("schema.cors-wildcard", S, "'*' accepted where the profile forbids it", "profile && !profile.cors.allowWildcard ?", "false ?"),
    unit("schema.cors-comma", S, "a comma (several origins in one entry) accepted", `if (origin.includes(",")) return`, "if (false) return"),
    unit("schema.cors-origin", S, "anything accepted as an origin", `if (!m) return "is not an origin";`, "if (!m) return undefined;"),
    unit("schema.cors-case", S, "capital letters in origins accepted", "if (origin !== origin.toLowerCase()) return", "if (false) return"),
    unit("schema.cors-default-port", S, "default ports in origins accepted", `if ((m[1] === "http" && m[3] === "80") || (m[1] === "https" && m[3] === "443")) return`, "if (false) return"),
    unit("schema.cors-port", S, "origin ports out of range accepted", "    return withPort(m[3]);\n}\n\n/** imageSource=registry", "    return undefined;\n}\n\n/** imageSource=registry"),
    unit("schema.validation-reach", S, "validation of loopback ports on a remote engine accepted", "if (remote && f.postDeployValidation === true && unreachable.length > 0) {", "if (false) {"),
    unit("schema.validation-local", S, "a local tcp/ssh engine counted as remote", String.raw`!/^[a-z]+:\/\/(?:[^@/]*@)?(localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(f.dockerHost)`, "true"),
    unit("schema.stateful-restore", S, "a restore with nothing stateful accepted", `if (f.restoreFrom !== undefined) problems.add("restoreFrom"`, `if (false) problems.add("restoreFrom"`),
    unit("schema.stateful-backup", S, "a backup request with nothing stateful accepted", "if ((f.backupRequest ?? 0) > 0) problems.add(", "if (false) problems.add("),
    unit("schema.registry-stock", S, "influxdb in imageReferences accepted", `if (SERVICE_CATALOG[e.service].image.kind === "stock") {`, "if (false) {"),
    unit("schema.registry-pinned", S, "unpinned registry images accepted", "} else if (!ref?.digest) {", "} else if (!ref) {"),
    unit("schema.registry-missing", S, "registry images missing for some services accepted", "if (missing.length > 0) {", "if (false) {"),
    unit("schema.registry-influx-pinned", S, "an unpinned influxdbImage accepted with imageSource=registry", "if (!parseImageReference(influxdbImage)?.digest) {", "if (false) {"),
    unit("schema.comparable-json", S, "a list key set to its default JSON counted as set", `if (typeof value === "string" && value.startsWith("[")) {`, "if (false) {"),
    unit("schema.cors-default", S, "an empty corsOrigins deployed as no origins (not the profile's)", "values.corsOrigins.length > 0 ? values.corsOrigins : profile.cors.origins", "values.corsOrigins"),
    unit("schema.secret-empty", S, "an empty secret deployed as set", `if (typeof v === "string" && v.length > 0) secrets[k] = v;`, `if (typeof v === "string") secrets[k] = v;`, "equivalent: every secret key maps \"\" to unset (unsetIfEmpty) or refuses it (homeAssistantToken's length rule), so no empty string reaches this line"),

    // ---- plan/resolve.ts, synth/stackFiles.ts: what the tests named in issue 22 hold ----
    unit("resolve.host-ports-disabled", "plan/resolve.ts", "the host-ports check lists disabled services too", "ports: Object.fromEntries(enabled.map((k) => [k, config.services[k].hostPort]))", "ports: Object.fromEntries(SERVICE_KEYS.map((k) => [k, config.services[k].hostPort]))", undefined, ["test/unit/resolve"]),
    unit("resolve.host-ports-missing", "plan/resolve.ts", "the host-ports check leaves out the last deployed service", "ports: Object.fromEntries(enabled.map((k) => [k, config.services[k].hostPort]))", "ports: Object.fromEntries(enabled.slice(0, -1).map((k) => [k, config.services[k].hostPort]))", undefined, ["test/unit/resolve"]),
    unit("stackfiles.yaml-errors", "synth/stackFiles.ts", "YAML errors in a stack file ignored", "for (const e of this.doc.errors) {", "for (const e of this.doc.errors.filter(() => false)) {", undefined, ["test/unit/configProperty"]),
    unit("stackfiles.duplicate", "synth/stackFiles.ts", "a key given twice (profile and homeiq:profile) accepted", "if (k in config) {", "if (false) {", undefined, ["test/unit/configProperty"]),
    unit("stackfiles.shape", "synth/stackFiles.ts", "values of the wrong YAML shape passed on as JSON text", "if (ours !== undefined && Object.hasOwn(CONFIG_KEYS, ours) && !shapeFits(", "if (false && ours !== undefined && Object.hasOwn(CONFIG_KEYS, ours) && !shapeFits(", undefined, ["test/unit/configProperty"]),
    unit("stackfiles.top-level", "synth/stackFiles.ts", "unknown top-level keys (conifg:, extra:) ignored", "} else if (key === undefined || !STACK_FILE_KEYS.includes(key)) {", "} else if (false) {", undefined, ["test/unit/configProperty"]),
    unit("stackfiles.config-map", "synth/stackFiles.ts", "config: that is not a map ignored", `file.failAt(pair.value as Node, kind(pair.value), "has config: that is not a map"`, `void (pair.value as Node, kind(pair.value), "has config: that is not a map"`, undefined, ["test/unit/configProperty"]),

    // ---- policy/policies.ts ----
    unit("policy.volume-protect-served", POL, "protect counts only where retainOnDelete is visible (offline), not in the served pack", "if (opts.protect === true || opts.retainOnDelete === true) {", "if ((opts.protect === true && opts.retainOnDelete !== undefined) || opts.retainOnDelete === true) {"),
    unit("policy.root-unset", POL, "a container without `user` passes non-root", "return true; // unset", "return false; // unset"),
    unit("policy.root-uid0", POL, "uid 0 passes non-root", `return uid === "" || uid === "root" || /^0+$/.test(uid);`, `return uid === "" || uid === "root";`),
    unit("policy.root-name", POL, "user root passes non-root", `return uid === "" || uid === "root" || /^0+$/.test(uid);`, `return uid === "" || /^0+$/.test(uid);`),
    unit("policy.root-exception", POL, "the documented root exception (health-dashboard) ignored", `if (exceptionsFor("container-non-root-user", c.service).length > 0) {`, "if (false) {"),
    unit("policy.nnp-false", POL, "no-new-privileges=false passes", `return o === "no-new-privileges" || o === "no-new-privileges=true" || o === "no-new-privileges:true";`, `return o.startsWith("no-new-privileges");`),
    unit("policy.nnp-off", POL, "no-new-privileges never checked", "if (opts.some(isNoNewPrivileges)) {", "if (true) {"),
    unit("policy.caps-drop-all", POL, "not dropping ALL passes", `if (!drops.includes("ALL")) {`, "if (false) {"),
    unit("policy.caps-added", POL, "any added capability passes", "const denied = adds.filter((a) => !allowed.has(a));", "const denied: string[] = [];"),
    unit("policy.caps-config", POL, "allowedCapabilities in the pack config ignored", "(config.allowedCapabilities ?? []).map(normalizeCapability)", "([] as string[])"),
    unit("policy.caps-exceptions", POL, "capability exceptions ignored", "e.capabilities.forEach((cap) => allowed.add(normalizeCapability(cap)));", "void e;"),
    unit("policy.caps-prefix", POL, "CAP_ prefixes not normalised", `return upper.startsWith("CAP_") ? upper.slice(4) : upper;`, "return upper;"),
    unit("policy.privileged", POL, "privileged containers pass", "if (c.props.privileged === true) {", "if (false) {"),
    unit("policy.memory-zero", POL, "memory 0 passes", "if (memory === undefined || memory <= 0) {", "if (memory === undefined) {"),
    unit("policy.cpu-quota", POL, "cpuQuota no longer counts as a CPU limit", "if (!((cpus !== undefined && cpus > 0) || (cpuQuota !== undefined && cpuQuota > 0))) {", "if (!((cpus !== undefined && cpus > 0))) {"),
    unit("policy.healthcheck-none", POL, "a NONE health check passes", `if (tests.length > 0 && tests[0] !== "NONE") {`, "if (tests.length > 0) {"),
    unit("policy.log-driver", POL, "any log driver passes", "if (driver === undefined || !ROTATING_LOG_DRIVERS.includes(driver)) {", "if (driver === undefined) {"),
    unit("policy.log-opts", POL, "empty max-size/max-file pass", `if (v === undefined || v === null || String(v).trim() === "") {`, "if (v === undefined) {"),
    unit("policy.restart", POL, "any restart policy passes", "if (restart !== undefined && ACCEPTED_RESTART_POLICIES.includes(restart)) {", "if (true) {"),
    unit("policy.publish-all", POL, "publishAllPorts passes", "if (c.props.publishAllPorts === true) {", "if (false) {"),
    unit("policy.public-ip", POL, "ports with ip unset or :: pass", `if (!(ip === "" || ip === "0.0.0.0" || ip === "::" || ip === "[::]")) {`, `if (!(ip === "0.0.0.0")) {`),
    unit("policy.public-allowed", POL, "allowedPublicPorts ignored", "if (external !== undefined && allowed.has(external)) {", "if (false) {"),
    unit("policy.docker-parent", POL, "mounting a parent of the socket (/var/run) passes", "return DOCKER_HOST_PATHS.some((d) => isAtOrBelow(path, d) || isAtOrBelow(d, path));", "return DOCKER_HOST_PATHS.some((d) => isAtOrBelow(path, d));"),
    unit("policy.docker-normalise", POL, "/var/run//docker.sock/ not recognised", String.raw`const collapsed = p.trim().replace(/\/+/g, "/");`, "const collapsed = p;"),
    unit("policy.docker-mounts", POL, "bind mounts given as `mounts` not checked", "for (const m of asArray(props.mounts)) {", "for (const m of asArray(undefined)) {"),
    unit("policy.docker-config", POL, "dockerSocketServices in the pack config ignored", "(c.service !== undefined && configured.includes(c.service)) ||", ""),
    unit("policy.docker-readonly", POL, "read-write Docker host mounts pass", "if (!m.readOnly) {", "if (false) {"),
    unit("policy.placeholder-env", POL, "placeholders in env pass", "const placeholder = placeholderIn(text.slice(eq + 1));", "const placeholder = undefined as string | undefined;"),
    unit("policy.placeholder-pattern", POL, "your_*_here fillers pass", "return PLACEHOLDER_PATTERN.test(v) ? v : undefined;", "return undefined;"),
    unit("policy.placeholder-unknown", POL, "an env value unknown in preview throws instead of being skipped", "if (isUnknownValueError(e)) {", "if (false) {"),
    unit("policy.volume-protect", POL, "protect no longer counts for data volumes", "if (opts.protect === true || opts.retainOnDelete === true) {", "if (opts.retainOnDelete === true) {"),
    unit("policy.volume-unseen", POL, "an unseen retainOnDelete reported as a violation, not not-applicable", "if (opts.retainOnDelete === undefined) {\n            args.notApplicable(", "if (false) {\n            args.notApplicable("),
    unit("policy.volume-label", POL, "volumes without com.homeiq.data=true checked", `if (labelValue(props.labels, DATA_LABEL) !== "true") {`, "if (false) {"),
    unit("policy.containers-only", POL, "container policies run on every resource", "if (args.type !== CONTAINER_TYPE) {\n            args.notApplicable(", "if (false) {\n            args.notApplicable("),
    unit("policy.level-config", POL, "the pack config's enforcement levels ignored", "return levelOf(config[policy.name]) ?? levelOf(config.all) ??", "return"),
    // ---- scripts/ (engine test files; each also runs under the unit project's scriptRules.test.ts) ----
    ...scriptMutations(),
];

function scriptMutations(): Mutation[] {
    const restore = engine(["test/engine/backup-restore.test.ts"]);
    const backup = engine(["test/engine/retention-secrets.test.ts"]);
    const migrate = engine(["test/engine/migrate.test.ts"]);
    const ports = engine(["test/engine/migrate-refusals.test.ts"]);
    const validate = engine(["test/engine/validate.test.ts"]);
    const retention = engine(["test/engine/influx-retention.test.ts"]);
    const RS = "scripts/backup/restore.sh";
    const prune = engine(["test/engine/backup-retention.test.ts"]);
    const PR = "scripts/backup/prune.sh";
    return [
        restore("restore.other-stack", RS, "a backup of another stack restored without HOMEIQ_RESTORE_ALLOW_OTHER_STACK", ` && \${HOMEIQ_RESTORE_ALLOW_OTHER_STACK:-0} != 1 ]]; then`, " && 1 != 1 ]]; then"),
        restore("restore.allow-other-stack", RS, "HOMEIQ_RESTORE_ALLOW_OTHER_STACK=1 ignored", ` && \${HOMEIQ_RESTORE_ALLOW_OTHER_STACK:-0} != 1 ]]; then`, " ]]; then"),
        restore("restore.partial", RS, "a .partial folder restored", `[[ $DIR != *.partial ]] || refuse "it is a .partial folder (a backup that never completed)"`, "true"),
        restore("restore.manifest-sha", RS, "manifest.json not checked against manifest.sha256", `[[ $(sha256sum "$DIR/manifest.json" | cut -d' ' -f1) == "$want" ]] ||`, "true ||"),
        restore("restore.file-missing", RS, "a missing file not refused", `[[ -f $DIR/$f ]] || refuse "file $f listed in manifest.json is missing"`, "true"),
        restore("restore.file-sha", RS, "a changed file not refused", `[[ \${got[i]:-} == "\${F_SHAS[idx[i]]}" ]] ||`, "true ||"),
        restore("restore.staged-sha", RS, "a changed SQLite file copied by the DIRECT helper not refused", "        if h.hexdigest() != sha:", "        if False:"),
        restore("restore.influx", RS, "InfluxDB not restored", "if ((do_influx)); then", "if ((0)); then"),
        restore("restore.owner", RS, "restored databases left owned by root", `chown "$owner" "$dst"\n`, ""),
        migrate("restore.absent-db", RS, "a volume whose database the backup lacks is touched (its -wal removed)", `    log "sqlite $svc: the backup holds no database for it (not deployed when taken); leaving volume $vol as it is"\n    continue`, `    log "sqlite $svc: the backup holds no database for it (not deployed when taken); leaving volume $vol as it is"\n    docker run --rm -v "$vol:/t" "$HELPER" rm -f /t/metadata.db-wal >/dev/null\n    continue`),
        backup("lib.dotdot", "scripts/backup/lib.sh", "'..' in paths accepted by the backup scripts", "path_has_dotdot() { [[ /$1/ == */../* ]]; }", "path_has_dotdot() { false; }"),
        prune("prune.age", PR, "retention deletes nothing by age (keeps every backup)", `(($(epoch_of "$name") >= cutoff)) && age_ok=1`, "age_ok=1"),
        prune("prune.keep-count", PR, "retention keeps one good backup too few", "elif ((is_good && good_seen <= KEEP)); then", "elif ((is_good && good_seen < KEEP)); then"),
        prune("prune.partial-kept", PR, "retention deletes .partial folders too", "-regex '.*/[0-9]{8}T[0-9]{6}Z' -printf '%f\\n' | LC_ALL=C sort -r)", "-regex '.*/[0-9]{8}T[0-9]{6}Z.*' -printf '%f\\n' | LC_ALL=C sort -r)"),
        prune("prune.migration", PR, "a migration's backup deleted by age", `elif [[ $(reason_of "$dir") == migrate-* ]]; then`, "elif false; then"),
        prune("prune.marked", PR, "a backup marked with .keep deleted by age", "elif [[ -e $STACK_DIR/$name.keep ]]; then", "elif false; then"),
        backup("backup.keep-valid", "scripts/backup/backup.sh", "HOMEIQ_BACKUP_KEEP=0 or junk accepted", `[[ $KEEP =~ ^[1-9][0-9]*$ ]] || die`, "true || die"),
        ports("ports.other-stack", "scripts/preflight/ports-free.sh", "a port held by another container not refused", `if ((\${#held[@]} == 0)); then`, "if ((1)); then"),
        ports("ports.own-stack", "scripts/preflight/ports-free.sh", "the stack's own containers counted as holding its ports", `[[ -n $name && $stack != "$HOMEIQ_STACK" ]] || continue`, `[[ -n $name ]] || continue`),
        validate("validate.retry", "scripts/validate/validate.sh", "no retry after a failed attempt", "    if ((n < ATTEMPTS)); then", "    if ((0)); then"),
        validate("validate.html", "scripts/validate/validate.sh", "any body accepted as the dashboard's HTML", `if [[ $text == *"<html"* || $text == *"<!doctype html"* ]]; then STATUS=ok; else STATUS='not HTML'; fi`, "STATUS=ok"),
        validate("validate.influx-ready", "scripts/validate/validate.sh", "any /health accepted as InfluxDB ready", `if [[ $text == *'"status":"pass"'* || $text == *'"status": "pass"'* || $text == *'"ready"'* ]]; then`, "if true; then"),
        retention("retention.pattern", "scripts/influxdb/set-retention.sh", "retention values other than 0s or <days>d accepted", "readonly RE_RETENTION='^(0s|[1-9][0-9]{0,4}d)$'", "readonly RE_RETENTION='^.*$'"),
        engine(["test/engine/stack.dev.test.ts"])("apply.user-default", "engine/apply/containerInputs.ts", "a container whose spec sets no user runs as 0:0, not as its image's USER", "    return plan;\n}", `    if (plan.config.User === undefined) plan.config.User = "0:0";\n    return plan;\n}`),
        retention("retention.verify", "scripts/influxdb/set-retention.sh", "the update not read back", `[[ $NOW == "$WANT" ]] ||`, "true ||"),
        // ---- issue 19: the deploy gate's criteria, the error-line rule, the watch's dedupe, the status's thresholds ----
        validate("validate.latency", "scripts/validate/validate.sh", "a slow endpoint passes the latency criterion", "((LATENCY_MS < MAX_LATENCY_MS)) || slow=$((slow + 1))", "true"),
        validate("validate.error-lines-fail", "scripts/validate/validate.sh", "error lines since start never fail the gate", "  if [[ $ERROR_LINES == fail ]]; then", "  if false; then"),
        engine(["test/process/errorLines.test.ts"])("error-lines.forbidden", "scripts/validate/error-lines.sh", "the Docker API proxy's refusals counted as error lines", `[[ $line =~ $RE_ERROR_LINE && $line != *"access forbidden by rule"* ]]`, "[[ $line =~ $RE_ERROR_LINE ]]"),
        engine(["test/engine/operate.test.ts"])("watch.dedupe", "scripts/watch/watch.sh", "a problem already notified is notified again on every run", "  if ((told == 0)); then", "  if true; then"),
        unit("status.latency-edge", "operate/status.ts", "a p95 of exactly 100 ms meets the criterion", "p95 >= criteria.latencyP95Ms", "p95 > criteria.latencyP95Ms", undefined, ["test/unit/status"]),
        unit("status.memory", "operate/status.ts", "memory over its share is no finding", "c.memory.percent >= criteria.memoryPercent", "c.memory.percent > 100", undefined, ["test/unit/status"]),
    ];
}
