import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Copy, DockerfileParser, type JSONInstruction } from "dockerfile-ast";
import { repoRoot } from "./paths.js";

export interface Step {
  keyword: string;
  /** Whitespace-separated arguments as written. */
  args: string[];
  /** The strings of an exec-form (JSON array) instruction; undefined in shell form. */
  exec?: string[];
  /** COPY --from=<stage>. */
  from?: string;
}

export interface Stage {
  name: string | undefined;
  /** The FROM image with ARG defaults substituted. */
  image: string;
  steps: Step[];
}

const EXEC_FORM = new Set(["CMD", "ENTRYPOINT", "RUN", "SHELL"]);

/** The Dockerfile at the repository root, as stages of steps. */
export function parseDockerfile(path = join(repoRoot, "Dockerfile")): { stages: Stage[] } {
  const dockerfile = DockerfileParser.parse(readFileSync(path, "utf8"));
  const defaults = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    const property = arg.getProperty();
    if (property) defaults.set(property.getName(), property.getValue() ?? "");
  }
  const expand = (text: string) =>
    text.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => defaults.get(name) ?? whole);

  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    if (keyword === "FROM") {
      const asIndex = args.findIndex((a) => a.toUpperCase() === "AS");
      stages.push({
        name: asIndex >= 0 ? args[asIndex + 1] : undefined,
        image: expand(args.find((a) => !a.startsWith("--")) ?? ""),
        steps: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARGs before the first FROM
    const step: Step = { keyword, args };
    if (EXEC_FORM.has(keyword)) {
      const json = (instruction as JSONInstruction).getJSONStrings();
      if (json.length > 0) step.exec = json.map((s) => s.getJSONValue());
    }
    if (keyword === "COPY") {
      const from = (instruction as Copy).getFromFlag()?.getValue();
      if (from) step.from = from;
    }
    stage.steps.push(step);
  }
  return { stages };
}

/** The numeric uid of the final stage's USER, or undefined. */
export function imageUid(): number | undefined {
  const final = parseDockerfile().stages.at(-1);
  const user = final?.steps.filter((s) => s.keyword === "USER").at(-1)?.args[0];
  const uid = user?.split(":")[0];
  return uid && /^\d+$/.test(uid) ? Number(uid) : undefined;
}
