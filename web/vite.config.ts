import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The build goes where the edge embeds it (go:embed web): the edge binary
// serves the app at / with no other files beside it. The output is
// committed, so `make run` needs no Node; `npm run check-build` proves it is
// the build of these sources.
export const outDir = "../services/edge/internal/edge/web";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: process.env.LIVEFLOW_WEB_OUT ?? outDir,
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
    // go:embed leaves out files whose names start with "_" or ".": fixed
    // prefixes keep every output file embedded.
    rollupOptions: {
      output: {
        entryFileNames: "assets/app-[hash].js",
        chunkFileNames: "assets/chunk-[hash].js",
        assetFileNames: "assets/app-[hash][extname]",
      },
    },
  },
  server: {
    // `npm run dev` against an edge on :8080 (make run).
    proxy: { "/ws": { target: "ws://localhost:8080", ws: true } },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
