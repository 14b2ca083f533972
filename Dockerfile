# The app image used by docker-compose.yml: TypeScript runs through tsx on Node 24, as on a developer machine.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --omit=optional
COPY . .
EXPOSE 8080 8888 9464
USER node
CMD ["npx", "node", "--import", "tsx", "bin/start.ts"]
