/** What the offline synth shows in place of values it cannot or must not show (no imports: tests read these cheaply). */
export const SECRET_MARK = "[secret]";
export const UNKNOWN_MARK = "[unknown]";
/** Every image digest the offline mocks invent starts with this hex: it marks them as fake, never a real build. */
export const MOCK_DIGEST_MARKER = "deadbeef".repeat(4);
/** The Docker socket group the offline synth shows for admin-api (found on the real host at deploy time). */
export const MOCK_SOCKET_GROUP = "mock-docker-socket-gid";
