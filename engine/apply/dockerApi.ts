/**
 * A minimal Docker Engine API client over the local unix socket: the calls @pulumi/docker's
 * provider makes for volumes, networks and containers (create, network connect, start, inspect,
 * stop, remove). Only `unix://` engines are supported: the acceptance test and the cold-start
 * benchmark run against the engine that engine/start.sh starts on this machine.
 */
import * as http from "http";

/** API version of Docker Engine 25: the first with HealthConfig.StartInterval. */
export const API_VERSION = "v1.44";

export class DockerApiError extends Error {
    constructor(
        readonly method: string,
        readonly path: string,
        readonly status: number,
        readonly body: string,
    ) {
        super(`Docker API ${method} ${path} answered ${status}: ${body.trim().slice(0, 800)}`);
    }
}

export interface DockerApi {
    request<T = unknown>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T>;
}

export function socketPathOf(dockerHost: string | undefined): string {
    const host = dockerHost && dockerHost.length > 0 ? dockerHost : "unix:///var/run/docker.sock";
    if (!host.startsWith("unix://")) {
        throw new Error(`the engine applier supports only local unix:// engines, not ${host}`);
    }
    return host.slice("unix://".length);
}

export function dockerApi(dockerHost?: string): DockerApi {
    const socketPath = socketPathOf(dockerHost);
    return {
        request<T>(method: "GET" | "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
            const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
            return new Promise<T>((resolve, reject) => {
                const req = http.request(
                    {
                        socketPath,
                        method,
                        path: `/${API_VERSION}${path}`,
                        headers: payload
                            ? { "Content-Type": "application/json", "Content-Length": String(payload.length) }
                            : undefined,
                    },
                    (res) => {
                        const chunks: Buffer[] = [];
                        res.on("data", (c: Buffer) => chunks.push(c));
                        res.on("end", () => {
                            const text = Buffer.concat(chunks).toString("utf8");
                            const status = res.statusCode ?? 0;
                            // As the Go client (checkResponseErr): 1xx-3xx are answers, e.g. 304 for stopping a stopped container.
                            if (status >= 400) {
                                reject(new DockerApiError(method, path, status, text));
                                return;
                            }
                            if (text.length === 0) {
                                resolve(undefined as T);
                                return;
                            }
                            try {
                                resolve(JSON.parse(text) as T);
                            } catch {
                                resolve(text as T);
                            }
                        });
                    },
                );
                req.on("error", reject);
                if (payload) req.write(payload);
                req.end();
            });
        },
    };
}
