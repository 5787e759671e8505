/**
 * The credentials HomeIQ's old compose files and env templates shipped as defaults
 * (docs/homeiq.md, "Defects of the old compose files"), plus common
 * fillers. The config schema refuses them and the policy pack flags them; both read this one list.
 * No imports: the policy pack loads this file on its own.
 */
export const PLACEHOLDER_CREDENTIALS: readonly string[] = [
    "admin123",
    "ha-ingestor-token",
    "super-secret-jwt-key",
    "adminpass",
    "dev_simulator_token",
    "changeme",
];

/** Template fillers such as `your_influxdb_token_here`. */
export const PLACEHOLDER_PATTERN = /^your_[a-z0-9_]*_here$/i;

/** Whether a value is one of the old placeholders (case-insensitive) or a `your_…_here` filler. */
export function isPlaceholderCredential(value: string): boolean {
    const v = value.trim();
    return PLACEHOLDER_CREDENTIALS.includes(v.toLowerCase()) || PLACEHOLDER_PATTERN.test(v);
}
