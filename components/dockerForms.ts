/**
 * Container input values written in the form @pulumi/docker's provider reads them back into state
 * (kreuzwerker/terraform-provider-docker v4.5.0, which it bridges). After a create the provider
 * reads the container back and the next preview diffs the program's inputs against that read-back:
 * a value written in any other form shows a change on every `pulumi up`, and for a `ForceNew` field
 * (capabilities, cpus) that change is a replacement. docs/provider-behaviour.md has the source lines.
 */

/**
 * A Linux capability as the docker client sends it and the provider reads it back: upper case with a
 * `CAP_` prefix, `ALL` as is (moby v28.5.2 client/container_create.go:134-167, normalizeCap).
 */
export function capabilityAsRead(name: string): string {
    const upper = name.toUpperCase();
    if (upper === "ALL" || upper.startsWith("CAP_")) return upper;
    return `CAP_${upper}`;
}

/** A capability list as the client sends it: normalised, without duplicates, sorted (normalizeCapabilities). */
export function capabilitiesAsRead(names: readonly string[]): string[] {
    return [...new Set(names.map(capabilityAsRead))].sort();
}

/**
 * `cpus` as the provider reads `HostConfig.NanoCpus` back: nanoInt64ToDecimalString
 * (internal/provider/helpers.go:133-149): the 9-decimal form; if it has exactly nine zeros, one
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

const NS = { h: 3600e9, m: 60e9, s: 1e9, ms: 1e6, us: 1e3 } as const;

/** A fraction of `unit` with Go's formatting: no trailing zeros, no point when whole. */
function fraction(ns: number, unit: number): string {
    const text = (ns / unit).toFixed(9).replace(/0+$/, "");
    return text.endsWith(".") ? text.slice(0, -1) : text;
}

/**
 * Go's time.Duration.String of a whole number of nanoseconds, which is how the provider reads the
 * health-check durations back (`Interval.String()`, funcs.go:960-970): "250ms", "30s", "1m30s", "1h0m0s".
 */
export function goDuration(ns: number): string {
    if (!Number.isSafeInteger(ns) || ns < 0) throw new Error(`not a duration in nanoseconds: ${ns}`);
    if (ns === 0) return "0s";
    if (ns < NS.us) return `${ns}ns`;
    if (ns < NS.ms) return `${fraction(ns, NS.us)}µs`;
    if (ns < NS.s) return `${fraction(ns, NS.ms)}ms`;
    const h = Math.floor(ns / NS.h);
    const m = Math.floor((ns % NS.h) / NS.m);
    const s = `${fraction(ns % NS.m, NS.s)}s`;
    if (h > 0) return `${h}h${m}m${s}`;
    if (m > 0) return `${m}m${s}`;
    return s;
}

/** Whole seconds as Go prints them: 30 -> "30s", 90 -> "1m30s". */
export const goSeconds = (seconds: number): string => goDuration(seconds * NS.s);
