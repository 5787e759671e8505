/**
 * Every bound and pattern that some consumer of a config value enforces, in one place, with the
 * consumer it mirrors. The config schema (config/schema.ts) and the stack profiles
 * (stacks/profile.ts) read them from here; test/unit/scriptRules.test.ts reads the scripts' own
 * patterns out of scripts/ and holds them equal to (or stricter than) these, so a value the schema
 * accepts is never refused later by a script, the docker provider or the engine.
 */

// ---- text -----------------------------------------------------------------------------------

/**
 * Linux refuses to exec a program whose environment holds a string ("NAME=value") longer than
 * MAX_ARG_STRLEN (32 pages: 131072 bytes); every container and every Command starts that way. The
 * limits below keep each value, and every variable assembled from values, far below it
 * (test/unit/configBounds.test.ts synthesizes a config with every value at its longest).
 */
export const ENV_STRING_MAX_BYTES = 131072;
/** Names, places, reasons, ids: free text a person types. */
export const TEXT_MAX = 256;
/** Passwords, tokens and API keys. */
export const SECRET_MAX = 4096;
/** URLs and paths. */
export const URL_MAX = 2048;
export const PATH_MAX = 1024;
/** Entries of one list key (corsOrigins, hostPorts, ...). */
export const LIST_MAX = 64;

/**
 * Characters no config value may hold: control characters (NUL, ESC, tab, newline, DEL, C1),
 * format characters (bidi overrides, zero-width), line/paragraph separators, and lone surrogates
 * (they cannot be encoded, so the value deployed would differ from the value checked).
 */
const FORBIDDEN_CHARACTER = /[\p{Cc}\p{Cf}\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/u;

/** The first character a value may not hold, described, or undefined when there is none. */
export function forbiddenCharacter(value: string): string | undefined {
    const m = FORBIDDEN_CHARACTER.exec(value);
    if (!m) return undefined;
    const code = m[0].codePointAt(0) ?? 0;
    const names: Record<number, string> = { 0: "NUL", 9: "a tab", 10: "a newline", 13: "a carriage return", 27: "ESC", 127: "DEL" };
    return `${names[code] ?? "a control or format character"} (U+${code.toString(16).toUpperCase().padStart(4, "0")}) at position ${m.index + 1}`;
}

// ---- numbers --------------------------------------------------------------------------------

export const PORT = { min: 1, max: 65535 } as const;
/**
 * Memory in MiB (the docker provider's `memory`/`memoryReservation`). Docker refuses limits below
 * 6 MiB (daemon: "Minimum memory limit allowed is 6MB"); 16 MiB is the least any HomeIQ service
 * starts in. The provider multiplies MiB by 2^20 into an int64, so 1 TiB is a sane ceiling far
 * below the overflow.
 */
export const MEMORY_MIB = { min: 16, max: 1048576 } as const;
export const MEMORY_RESERVATION_MIB = { min: 6, max: 1048576 } as const;
/**
 * CPU limit in cores. The engine refuses more than the host has, but only when the container
 * starts; the host's count is unknown when the config is checked, so 64 (a large home server) is
 * the documented ceiling. Two decimals: the engine works in 0.01 steps of NanoCPUs anyway. From
 * 0.1: the docker provider reads anything below back as "0.0", a change on every `pulumi up`
 * (cpusAsRead below, which also refuses the few larger values it misreads).
 */
export const CPUS = { min: 0.1, max: 64, decimals: 2 } as const;
/**
 * A container's PIDs limit (`docker update --pids-limit`): 0 or -1 would mean unlimited, so 16 (a
 * shell, the service and its health check with room to spare) is the floor; the kernel's pid_max
 * can be at most 4194304 (2^22), so no limit above it means anything.
 */
export const PIDS_LIMIT = { min: 16, max: 4194304 } as const;
/**
 * homeiq:maxOpenFiles: the most open files an engine lets a container have. Below 1024 no service
 * starts reliably; 1048576 is Linux's default fs.nr_open, above which setrlimit fails for everyone.
 */
export const MAX_OPEN_FILES = { min: 1024, max: 1048576 } as const;
/**
 * Seconds `pulumi up` waits for a container to become healthy: the docker provider turns it into a
 * Go time.Duration (int64 nanoseconds), which overflows past ~292 years; no health start takes
 * more than an hour.
 */
export const HEALTH_WAIT_SECONDS = { min: 1, max: 3600 } as const;
/** scripts/influxdb/set-retention.sh accepts 0s (forever) or 1-99999 days (RE_RETENTION there). */
export const RETENTION_DAYS_MAX = 99999;
/** A counter raised by one (rebuildGeneration, backupRequest): within a signed 32-bit integer. */
export const COUNTER_MAX = 2147483647;
/** Group ids the engine (and Linux) accept for `--group-add`: 0 to 2^31-1. */
export const GROUP_ID_MAX = 2147483647;
/** Backups kept per stack (backup.sh accepts any positive whole number). */
export const BACKUP_KEEP_MAX = 1000;
/** homeiq:backupKeepDays: ten years. */
export const BACKUP_KEEP_DAYS_MAX = 3650;

// ---- names and paths --------------------------------------------------------------------------

/**
 * A path scripts/backup/*.sh accept (RE_ABS_PATH in scripts/backup/lib.sh, same text): absolute,
 * letters, digits and `_ . / + -` only; no `..` component (checked apart).
 */
export const RE_BACKUP_PATH = new RegExp("^/[A-Za-z0-9_./+-]*$");
/**
 * Stack names. Pulumi allows letters, digits, `-`, `_` and `.`; every Docker name this program
 * makes starts with the stack (`<stack>-influxdb`, image `homeiq-<stack>-data-api:local`), and image
 * names must be lower case path components (distribution/reference), so the stack must be one too.
 * Also a valid name for the backup scripts (RE_STACK in scripts/backup/lib.sh).
 */
export const RE_STACK_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
export const STACK_NAME_MAX = 64;
/**
 * InfluxDB user, org and bucket names: stricter than scripts/influxdb/set-retention.sh's RE_NAME
 * (which only refuses control characters and a leading '-').
 */
export const RE_INFLUX_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** `unix://` socket paths: the kernel's sun_path holds 108 bytes with the terminating NUL. */
export const UNIX_SOCKET_PATH_MAX = 107;

// Host names (RFC 1123), IPv4, bracketed IPv6.
const LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
export const HOSTNAME = `${LABEL}(?:\\.${LABEL})*`;
export const IPV6_BRACKETED = "\\[[0-9A-Fa-f:.]+\\]";
export const HOST = `(?:${HOSTNAME}|${IPV6_BRACKETED})`;

/**
 * An image reference as Docker parses it (distribution/reference): an optional registry host and
 * port, lower-case path components, an optional tag, an optional sha256 digest.
 */
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const REGISTRY = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6_BRACKETED})(?::[0-9]+)?`;
export const RE_IMAGE_NAME = new RegExp(`^(?:${REGISTRY}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
export const RE_IMAGE_TAG = /^[\w][\w.-]{0,127}$/;
export const RE_SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
/** Docker refuses repository names longer than 255 characters. */
export const IMAGE_NAME_MAX = 255;

/** Splits `name[:tag][@digest]`; undefined when it is not a reference Docker accepts. */
export function parseImageReference(value: string): { name: string; tag?: string; digest?: string } | undefined {
    const at = value.indexOf("@");
    const digest = at < 0 ? undefined : value.slice(at + 1);
    const nameTag = at < 0 ? value : value.slice(0, at);
    const lastSlash = nameTag.lastIndexOf("/");
    const colon = nameTag.indexOf(":", lastSlash + 1);
    const name = colon < 0 ? nameTag : nameTag.slice(0, colon);
    const tag = colon < 0 ? undefined : nameTag.slice(colon + 1);
    if (!RE_IMAGE_NAME.test(name) || name.length > IMAGE_NAME_MAX) return undefined;
    if (tag !== undefined && !RE_IMAGE_TAG.test(tag)) return undefined;
    if (digest !== undefined && !RE_SHA256_DIGEST.test(digest)) return undefined;
    return { name, tag, digest };
}

/** `scheme://user:password@…`: credentials in a value that is not a secret. */
export const RE_URL_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@\s:]*):([^/@\s]*)@/;

/** The value with any `user:password@` password replaced, for showing in an error. */
export function maskPassword(value: string): string {
    return value.replace(RE_URL_PASSWORD, "$1:[secret]@");
}

// ---- the docker provider's read-back forms that a config value must survive --------------------

/**
 * `cpus` as the provider reads `HostConfig.NanoCpus` back: nanoInt64ToDecimalString
 * (terraform-provider-docker v4.5.0 internal/provider/helpers.go:133-149, which @pulumi/docker 5.x bridges): the 9-decimal form; if it has exactly nine zeros, one
 * decimal ("1.0", "0.5"); otherwise with its trailing zeros cut ("0.25", "1.05").
 * Returns undefined when that form does not mean `cpus` again: below 0.1 it reads "0.0", and a
 * multiple of 10 reads "10." (whose parsing by opts.ParseCPUs was not verified).
 */
export function cpusAsRead(cpus: number): string | undefined {
    const nanos = Math.round(cpus * 1e9);
    if (!Number.isSafeInteger(nanos) || nanos <= 0) return undefined;
    const whole = Math.floor(nanos / 1e9);
    const nine = `${whole}.${String(nanos % 1e9).padStart(9, "0")}`;
    const zeros = [...nine].filter((c) => c === "0").length;
    // FloatString(1) rounds to one decimal; with nine zeros the fraction is at most one digit.
    const text = zeros === 9 ? `${whole}.${nine.split(".")[1][0]}` : nine.replace(/0+$/, "");
    // What the provider sends back on create (opts.ParseCPUs of that text) must be `cpus` again.
    return !text.endsWith(".") && Math.round(Number(text) * 1e9) === nanos ? text : undefined;
}
