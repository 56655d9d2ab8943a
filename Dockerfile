# zeroproxy image: one image for both roles (`router` and `worker` are the first argument).
#   docker build -t zeroproxy:0.1.0 .
#   docker run --rm -p 8080:8080 -p 5555:5555 zeroproxy:0.1.0 router --http 0.0.0.0:8080 --bind 'tcp://*:5555'
#   docker run --rm zeroproxy:0.1.0 worker --connect tcp://<router>:5555 --forward http://<app>:3000
# Kubernetes manifests that use it: deploy/k8s/. There is no build step: tsx (a runtime
# dependency) runs the TypeScript sources, so the image carries src/, not a dist/.

# ---- stage 1: production dependencies only (zeromq ships a prebuilt libzmq for glibc x64/arm64)
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- stage 2: runtime — sources + node_modules, run as the unprivileged `node` user (uid 1000)
FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY proto/src ./proto/src
COPY router/src ./router/src
COPY worker-sdk/src ./worker-sdk/src
USER node
# 8080 HTTP front door, 5555 ZeroMQ (workers connect here), 9090 admin (/metrics, /readyz) when --admin is set
EXPOSE 8080 5555 9090
# SIGTERM goes straight to node (no shell in between): router and worker both drain on it.
ENTRYPOINT ["node", "bin/zeroproxy.js"]
CMD ["--help"]
