import { defineConfig } from "vitest/config";

// The browser tests (web/e2e): run by tools/webe2e's Go test, which starts
// the stack and passes its addresses in LIVEFLOW_E2E_* variables. One file,
// one browser, in order.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    sequence: { concurrent: false },
  },
});
