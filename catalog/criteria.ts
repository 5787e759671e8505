/**
 * The review's success criteria (rebuild-plan.md, "Success Criteria"), as numbers: every API endpoint
 * answers in under 100 ms, memory stays under 70 % of what is allocated, CPU under 50 % on average, no
 * error messages in the logs; and a disk threshold for its maintenance tip "alert on disk usage".
 * The deploy gate judges what can be judged at deploy time (latency, error lines since start);
 * `npm run status` and the watch judge all of them on the running stack.
 */
export const REVIEW_CRITERIA = {
    /** p95 of an endpoint's answers, in ms: it must be below this. */
    latencyP95Ms: 100,
    /** Requests an endpoint's p95 is taken over (nearest rank: the 19th fastest of 20). */
    latencyRequests: 20,
    /** Memory used, in % of the container's limit: it must be below this. */
    memoryPercent: 70,
    /** CPU used, in % of the container's CPU limit: it must be below this. */
    cpuPercent: 50,
    /** Error lines in a container's log since it started: at most this many. */
    errorLines: 0,
    /** Use of the filesystem holding the backups, in %: it must be below this. */
    diskPercent: 90,
} as const;
