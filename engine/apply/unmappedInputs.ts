/**
 * The engine applier carries out only the inputs it maps; an input it does not map is refused rather
 * than ignored, so a test never passes on a spec the applier silently dropped. Its own module so that
 * liveResources.ts and swarmResources.ts share it without importing each other (see process.ts).
 */
export function refuseUnmapped(what: string, given: Record<string, unknown>, known: readonly string[], mappedIn: string): void {
    const unknown = Object.keys(given).filter((k) => !known.includes(k));
    if (unknown.length > 0) throw new Error(`${what}: the engine applier does not map input(s) ${unknown.join(", ")} (${mappedIn})`);
}
