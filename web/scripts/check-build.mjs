// Checks that the build the edge embeds is the build of these sources: it
// builds again into a temporary folder and compares every file. The build is
// committed so that `make run` and the Go tests need no Node; this check,
// part of `make test`, keeps it honest.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const web = fileURLToPath(new URL("..", import.meta.url));
const embedded = join(web, "..", "services", "edge", "internal", "edge", "web");

function files(dir) {
  const out = new Map();
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const fresh = mkdtempSync(join(tmpdir(), "liveflow-web-"));
try {
  execFileSync("npx", ["vite", "build", "--logLevel", "warn"], {
    cwd: web,
    stdio: "inherit",
    env: { ...process.env, LIVEFLOW_WEB_OUT: fresh },
  });
  const want = files(fresh);
  const have = files(embedded);
  const problems = [];
  for (const [name, body] of want) {
    if (!have.has(name)) problems.push(`missing ${name}`);
    else if (!have.get(name).equals(body)) problems.push(`differs ${name}`);
  }
  for (const name of have.keys()) if (!want.has(name)) problems.push(`not built from the sources: ${name}`);
  if (problems.length > 0) {
    console.error(`web: the edge's embedded build (${relative(join(web, ".."), embedded)}) is not the build of web/:`);
    for (const p of problems) console.error(`  ${p}`);
    console.error("run `make web` and commit the result");
    process.exit(1);
  }
  console.log(`web: the embedded build matches the sources (${want.size} files)`);
} finally {
  rmSync(fresh, { recursive: true, force: true });
}
