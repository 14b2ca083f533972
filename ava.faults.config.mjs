// Fault tests (`npm run test:faults`): private servers per file, one file at a time.
export default {
  extensions: { ts: "module" },
  nodeArguments: ["--import=tsx"],
  files: ["test/faults/**/*.test.ts"],
  timeout: "3m",
  workerThreads: false,
  concurrency: 1,
  serial: true,
};
