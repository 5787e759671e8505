/**
 * The rewrite of HomeIQ's Dockerfiles onto the local test bases (engine/real-homeiq/realCheckout.ts):
 * everything of the last stage kept but the base and the package installs; what it cannot rewrite
 * refused by name. Inputs are Dockerfiles in HomeIQ's own shapes (multi-stage Alpine with a builder,
 * single-stage, the dashboard's node + nginx), written here.
 */
import { debianizeDockerfile, dockerfileInstructions } from "../../engine/real-homeiq/realCheckout";

const BASES = { python: "local/python:test", nginx: "local/nginx:test" };

describe("dockerfileInstructions", () => {
    it("joins continuation lines and drops comments and blank lines", () => {
        expect(dockerfileInstructions("# c\nFROM a\n\nRUN x && \\\n    y\n# inner\nCMD [\"z\"]\n")).toEqual(["FROM a", "RUN x && y", 'CMD ["z"]']);
    });
});

describe("debianizeDockerfile", () => {
    it("keeps a multi-stage Alpine service's last stage, user, layout, PYTHONPATH, health check and CMD; drops the builder and the package installs", () => {
        const upstream = [
            "FROM python:3.12-alpine AS builder",
            "WORKDIR /app",
            "RUN apk add --no-cache gcc musl-dev",
            "COPY services/x/requirements-prod.txt .",
            "RUN --mount=type=cache,target=/root/.cache/pip \\",
            "    pip install --no-cache-dir --user -r requirements-prod.txt",
            "FROM python:3.12-alpine AS production",
            "WORKDIR /app",
            "RUN apk add --no-cache curl",
            "RUN addgroup -g 1001 -S appgroup && \\",
            "    adduser -S appuser -u 1001 -G appgroup",
            "COPY --from=builder /root/.local /home/appuser/.local",
            "COPY services/x/src/ ./src/",
            "ENV PYTHONPATH=/app:/app/src",
            "USER appuser",
            "HEALTHCHECK --interval=30s CMD curl -f http://localhost:8001/health || exit 1",
            'CMD ["python", "-m", "src.main"]',
        ].join("\n");
        expect(debianizeDockerfile(upstream, BASES, "x").split("\n").slice(1)).toEqual([
            "FROM local/python:test",
            "WORKDIR /app",
            "# dropped (packages come from the base): RUN apk add --no-cache curl",
            "RUN groupadd --system --gid 1001 appgroup && useradd --system --uid 1001 --gid appgroup --no-create-home --home-dir /home/appuser --shell /usr/sbin/nologin appuser",
            "RUN mkdir -p /home/appuser/.local",
            "COPY services/x/src/ ./src/",
            "ENV PYTHONPATH=/app:/app/src",
            "USER appuser",
            "HEALTHCHECK --interval=30s CMD curl -f http://localhost:8001/health || exit 1",
            'CMD ["python", "-m", "src.main"]',
            "",
        ]);
    });

    it("drops a single stage's own pip install and keeps what it copies", () => {
        const out = debianizeDockerfile("FROM python:3.11-alpine\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install -r requirements.txt\nCOPY src/ ./src/\nCMD [\"python\"]\n", BASES);
        expect(out).toContain("FROM local/python:test\nWORKDIR /app\nCOPY requirements.txt .\n# dropped (packages come from the base): RUN pip install -r requirements.txt\nCOPY src/ ./src/\n");
    });

    it("serves the dashboard's bundle, built before the build, from the nginx base with its config", () => {
        const out = debianizeDockerfile("FROM node:18-alpine AS builder\nRUN npm run build\nFROM nginx:alpine AS production\nCOPY --from=builder /app/dist /usr/share/nginx/html\nCOPY nginx.conf /etc/nginx/conf.d/default.conf\n", BASES);
        expect(out.split("\n").slice(1, 4)).toEqual(["FROM local/nginx:test", "COPY dist /usr/share/nginx/html", "COPY nginx.conf /etc/nginx/conf.d/default.conf"]);
        expect(out).not.toContain("node:18");
    });

    it("refuses what it cannot rewrite, naming the Dockerfile and the instruction", () => {
        expect(() => debianizeDockerfile("FROM golang:1.22\n", BASES, "svc: services/svc/Dockerfile")).toThrow("svc: services/svc/Dockerfile: base image golang:1.22 has no local stand-in (python:* and nginx:* do)");
        expect(() => debianizeDockerfile("FROM python:3.12 AS b\nFROM python:3.12\nCOPY --from=b /opt/venv /opt/venv\n", BASES, "d")).toThrow("d: cannot rewrite COPY --from=b /opt/venv /opt/venv: only /root/.local and /app/dist are known");
        expect(() => debianizeDockerfile("RUN true\n", BASES, "e")).toThrow("e: no FROM instruction");
    });
});
