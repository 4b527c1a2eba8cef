import { join } from "node:path";
import ts from "typescript";
import type { Manifest } from "./kustomize.js";
import { repoRoot } from "./paths.js";

/** The package and interface that type a manifest: kubernetes-models or its prometheus-operator models. */
export function modelModule(manifest: Pick<Manifest, "apiVersion" | "kind">): string {
  const [group, version] = manifest.apiVersion.includes("/")
    ? manifest.apiVersion.split("/")
    : ["", manifest.apiVersion];
  return group === "monitoring.coreos.com"
    ? `@kubernetes-models/prometheus-operator/${group}/${version}/${manifest.kind}`
    : `kubernetes-models/${group ? `${group}/` : ""}${version}/${manifest.kind}`;
}

/**
 * Unknown fields. The OpenAPI schemas do not forbid extra properties, so a misspelt field
 * (`readOnlyRootFileSystem`) passes them, while `kubectl apply` (strict field validation by default
 * since Kubernetes 1.27) rejects it. TypeScript's excess-property check on the models' interfaces
 * catches it here: each manifest becomes an object literal typed with its interface, compiled in
 * memory (nothing is written).
 */
export function unknownFieldErrors(manifests: Manifest[]): string[] {
  const fileName = join(repoRoot, "test", "deploy", "__manifests__.ts");
  const source = manifests
    .map((m, i) => {
      return `import type { I${m.kind} as T${i} } from "${modelModule(m)}";\nexport const m${i}: T${i} = ${JSON.stringify(m, null, 1)};`;
    })
    .join("\n");
  const options: ts.CompilerOptions = {
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName
      ? ts.createSourceFile(name, source, languageVersion)
      : getSourceFile.call(host, name, languageVersion, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? source : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName === fileName);
  return diagnostics.map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const lines = source.split("\n");
    const manifestIndex = lines.slice(0, line + 1).filter((l) => l.startsWith("export const m")).length - 1;
    const m = manifests[manifestIndex];
    return `${m?.kind} ${m?.metadata.name}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
  });
}
