/**
 * Container input values written in the form @pulumi/docker's provider reads them back into state
 * (kreuzwerker/terraform-provider-docker v4.5.0, which it bridges). After a create the provider
 * reads the container back and the next preview diffs the program's inputs against that read-back:
 * a value written in any other form shows a change on every `pulumi up`, and for a `ForceNew` field
 * (capabilities, cpus) that change is a replacement. docs/provider-behaviour.md has the source lines.
 */
import type * as pulumi from "@pulumi/pulumi";

/** The docker provider takes labels as a list of {label, value}. */
export function dockerLabels<V extends pulumi.Input<string>>(labels: Readonly<Record<string, V>>): Array<{ label: string; value: V }> {
    return Object.entries(labels).map(([label, value]) => ({ label, value }));
}

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
